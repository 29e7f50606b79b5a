"""Parties' ids on the platform they were imported from (``gongsheng import orders``).

Revision ID: 0020
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import IDENTIFIER_LENGTH

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

_INDEX = "uq_parties_external_id"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "external_id" in {c["name"] for c in inspector.get_columns("parties")}:
        return  # 0001 creates the column (and its unique constraint) on new databases
    op.add_column("parties", sa.Column("external_id", sa.String(IDENTIFIER_LENGTH), nullable=True))
    op.create_index(_INDEX, "parties", ["external_id"], unique=True)


def downgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if _INDEX in {i["name"] for i in inspector.get_indexes("parties")}:
        op.drop_index(_INDEX, "parties")
    with op.batch_alter_table("parties") as batch:
        batch.drop_column("external_id")
