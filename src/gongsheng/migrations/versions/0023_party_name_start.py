"""A search by a name's first one or two characters read from an index, newest first.

Adds ``ix_parties_name_start1`` and ``ix_parties_name_start2`` on ``(substr(name, 1, n), id)``
(``adapters/paging.name_start``): such a search (terms shorter than three characters match the
start of a name only) was a ``LIKE`` filter on the list walked newest first, which read every
party newer than the oldest match. ``IF NOT EXISTS``: 0001 makes them on a new database.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_LENGTHS = (1, 2)


def upgrade() -> None:
    for n in _LENGTHS:  # IF NOT EXISTS: reflection does not list expression indexes on SQLite
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_parties_name_start{n} "
                   f"ON parties (substr(name, 1, {n}), id)")


def downgrade() -> None:
    for n in reversed(_LENGTHS):
        op.execute(f"DROP INDEX IF EXISTS ix_parties_name_start{n}")
