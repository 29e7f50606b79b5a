"""A BM's and a promoter's merchants paged by key: indexes that end with the merchant's id.

Replaces the single-column indexes of ``merchants.bm_id`` and ``merchants.promoter_id`` with
``(bm_id, party_id)`` and ``(promoter_id, party_id)`` (their first column serves what the old
ones did). Conditional like 0021 (0001 makes the new indexes on a new database); the downgrade
restores the previous indexes.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# (new index, its columns, the index it replaces, that one's column)
_KEYED = (
    ("ix_merchants_bm_key", ["bm_id", "party_id"], "ix_merchants_bm_id", "bm_id"),
    ("ix_merchants_promoter_key", ["promoter_id", "party_id"], "ix_merchants_promoter_id",
     "promoter_id"),
)


def _indexes() -> set[str]:
    return {str(i["name"]) for i in sa.inspect(op.get_bind()).get_indexes("merchants")}


def upgrade() -> None:
    present = _indexes()
    for new, columns, old, _ in _KEYED:
        if new not in present:
            op.create_index(new, "merchants", columns)
        if old in present:
            op.drop_index(old, table_name="merchants")


def downgrade() -> None:
    present = _indexes()
    for new, _, old, column in reversed(_KEYED):
        if old not in present:
            op.create_index(old, "merchants", [column])
        if new in present:
            op.drop_index(new, table_name="merchants")
