"""Pay codes (``pay_codes``): the consumer's one-time consent an order spending vouchers carries.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from gongsheng.adapters.tables import pay_codes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table("pay_codes"):  # 0001 creates it on new databases
        pay_codes.create(bind)  # with its index


def downgrade() -> None:
    pay_codes.drop(op.get_bind(), checkfirst=True)
