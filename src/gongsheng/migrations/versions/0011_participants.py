"""Parties acting from their own pages: invitations, merchant signings, keyed actions, partner terms.

Revision ID: 0011
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import action_requests, invitations, merchant_signings

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None

_TABLES = (invitations, merchant_signings, action_requests)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in _TABLES:  # 0001 creates them on new databases
        if not inspector.has_table(table.name):
            table.create(bind)
    if "term_periods" not in {c["name"] for c in inspector.get_columns("partners")}:
        op.add_column("partners", sa.Column("term_periods", sa.Integer, nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind, checkfirst=True)
    op.drop_column("partners", "term_periods")
