"""Holds and freezes: cash earnings per (party, period) and the freezes of parties.

Revision ID: 0017
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.earnings_store import backfill_earnings
from gongsheng.adapters.tables import earnings, party_freezes

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLES = (earnings, party_freezes)


def upgrade() -> None:
    """Create the tables (0001 creates them on new databases) and attribute the cash of every
    order and refund already posted to its order's period, so that holds apply to them too."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table(earnings.name):
        earnings.create(bind)
        backfill_earnings(bind)
    if not inspector.has_table(party_freezes.name):
        party_freezes.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind, checkfirst=True)
