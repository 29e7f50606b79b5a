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


def _unique(inspector: sa.Inspector) -> bool:
    """Whether ``parties.external_id`` is unique already (0001's constraint or this index)."""
    constraints = inspector.get_unique_constraints("parties")
    columns: list[list[str | None]] = [list(c["column_names"]) for c in constraints]
    columns += [list(i["column_names"]) for i in inspector.get_indexes("parties") if i["unique"]]
    return ["external_id"] in columns


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "external_id" not in {c["name"] for c in inspector.get_columns("parties")}:
        op.add_column("parties", sa.Column("external_id", sa.String(IDENTIFIER_LENGTH),
                                           nullable=True))
        inspector = sa.inspect(op.get_bind())
    if not _unique(inspector):  # 0001 creates column and constraint on new databases
        op.create_index(_INDEX, "parties", ["external_id"], unique=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite cannot drop a column that is unique or that other tables' keys refer through
        # (the table would be rebuilt); the links are cleared and the unused column stays
        op.execute("DROP INDEX IF EXISTS " + _INDEX)
        op.execute("UPDATE parties SET external_id = NULL")
        return
    op.drop_column("parties", "external_id")
