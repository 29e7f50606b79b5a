"""Per-(party, period) totals kept as entries post, filled in from the existing history; a
party's orders indexed by (party, id) for lists paged by key.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import party_period_totals
from gongsheng.adapters.totals_store import backfill_party_totals

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


_KEYED = (("ix_orders_consumer_key", "ix_orders_consumer_id", "consumer_id"),
          ("ix_orders_merchant_key", "ix_orders_merchant_id", "merchant_id"))


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    indexes = {i["name"] for i in inspector.get_indexes("orders")}
    for new, old, column in _KEYED:
        if new not in indexes:
            op.create_index(new, "orders", [column, "id"])
        if old in indexes:
            op.drop_index(old, table_name="orders")
    if inspector.has_table(party_period_totals.name):
        return  # 0001 made it on a new database, empty as its history
    party_period_totals.create(bind)
    backfill_party_totals(bind)  # what reports summed over postings until now


def downgrade() -> None:
    party_period_totals.drop(op.get_bind(), checkfirst=True)
    for new, old, column in _KEYED:
        op.create_index(old, "orders", [column])
        op.drop_index(new, table_name="orders")
