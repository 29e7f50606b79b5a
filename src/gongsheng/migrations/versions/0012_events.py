"""The transactional outbox of domain events (``events``).

Revision ID: 0012
Revises: 0008
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from gongsheng.adapters.tables import events

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table("events"):  # 0001 creates it on new databases
        events.create(bind)


def downgrade() -> None:
    events.drop(op.get_bind(), checkfirst=True)
