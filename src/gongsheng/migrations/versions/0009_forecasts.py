"""The stored forecast (``forecasts``), refreshed after each close.

Revision ID: 0009
Revises: 0012
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from gongsheng.adapters.tables import forecasts

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table("forecasts"):  # 0001 creates it on new databases
        forecasts.create(bind)


def downgrade() -> None:
    forecasts.drop(op.get_bind(), checkfirst=True)
