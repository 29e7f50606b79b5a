"""Payouts keep the balance they left (``balance_after_fen``), so a replay returns it unchanged.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("payouts")}
    if "balance_after_fen" not in columns:  # 0001 creates it on new databases
        op.add_column("payouts", sa.Column("balance_after_fen", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.drop_column("payouts", "balance_after_fen")
