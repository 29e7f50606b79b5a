"""The event feed's position (``events.txid``) and the webhook tables.

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import webhook_attempts, webhook_deliveries, webhook_subscriptions

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "txid" not in {c["name"] for c in inspector.get_columns("events")}:  # 0001 on new databases
        # rows written before this revision all committed long ago: position (0, id) is theirs
        op.add_column("events", sa.Column("txid", sa.BigInteger, nullable=False, server_default="0"))
    if "ix_events_position" not in {i["name"] for i in inspector.get_indexes("events")}:
        op.create_index("ix_events_position", "events", ["txid", "id"])
    for table in (webhook_subscriptions, webhook_deliveries, webhook_attempts):
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in (webhook_attempts, webhook_deliveries, webhook_subscriptions):
        table.drop(bind, checkfirst=True)
    op.drop_index("ix_events_position", "events")
    op.drop_column("events", "txid")
