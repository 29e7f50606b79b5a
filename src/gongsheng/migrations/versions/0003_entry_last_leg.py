"""Every journal entry names its last leg (``last_leg = leg_count - 1``, a generated column).

On SQLite a deferred foreign key from ``(id, last_leg)`` to the entry's postings makes an entry
whose legs were never all written uncommittable; databases created from this version's baseline
carry it. SQLite cannot add a foreign key to an existing table, so older SQLite files keep
relying on the last-leg trigger and ``verify``. PostgreSQL gets the column for a uniform schema
(its commit-time constraint trigger already refuses incomplete entries).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(
            "ALTER TABLE journal_entries ADD COLUMN IF NOT EXISTS last_leg integer "
            "GENERATED ALWAYS AS (leg_count - 1) STORED")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("ALTER TABLE journal_entries DROP COLUMN IF EXISTS last_leg")
