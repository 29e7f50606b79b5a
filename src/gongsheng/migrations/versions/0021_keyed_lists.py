"""Lists paged by key: an index for every list's filters ending with its key, and on PostgreSQL
a trigram index of party names for searches (``adapters/paging.py``).

Replaces the single-column indexes of a signer's signings and of cases by status with ones that
end with the key (their first column serves what the old ones did), and adds the directory's
parties by kind and the programmes with units left. Every step is conditional (0001 makes the
new indexes on a new database), and the downgrade restores the previous indexes.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.paging import drop_name_search, install_name_search

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_OPEN = "units_sold < units_offered"
# (table, new index, its columns, its condition, the index it replaces, that one's columns)
_KEYED: tuple[tuple[str, str, list[str], str | None, str | None, list[str]], ...] = (
    ("parties", "ix_parties_kind_key", ["kind", "id"], None, None, []),
    ("merchant_signings", "ix_merchant_signings_signer_key", ["signer_id", "merchant_id"], None,
     "ix_merchant_signings_signer", ["signer_id"]),
    ("cases", "ix_cases_status_key", ["status", "id"], None, "ix_cases_status", ["status"]),
    ("share_programmes", "ix_share_programmes_open", ["id"], _OPEN, None, []),
)


def _indexes(inspector: sa.Inspector, table: str) -> set[str]:
    return {str(i["name"]) for i in inspector.get_indexes(table)}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table, new, columns, where, old, _ in _KEYED:
        present = _indexes(inspector, table)
        if new not in present:
            condition = None if where is None else sa.text(where)
            op.create_index(new, table, columns, sqlite_where=condition,
                            postgresql_where=condition)
        if old is not None and old in present:
            op.drop_index(old, table_name=table)
    if bind.dialect.name == "postgresql" and not install_name_search(bind):
        log.warning("pg_trgm is not available to this role: party name searches read the "
                    "newest parties first, without an index")


def downgrade() -> None:
    bind = op.get_bind()
    drop_name_search(bind)
    inspector = sa.inspect(bind)
    for table, new, _, _, old, old_columns in reversed(_KEYED):
        present = _indexes(inspector, table)
        if old is not None and old not in present:
            op.create_index(old, table, old_columns)
        if new in present:
            op.drop_index(new, table_name=table)
