"""Idempotency keys of period closes asked through the API (``close_requests``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from gongsheng.adapters.tables import close_requests

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table("close_requests"):  # 0001 creates it on new databases
        close_requests.create(bind)


def downgrade() -> None:
    close_requests.drop(op.get_bind(), checkfirst=True)
