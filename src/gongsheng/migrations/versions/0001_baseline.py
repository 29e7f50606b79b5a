"""Baseline schema: every table of version 0.1 and the journal's guards.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from gongsheng.adapters.ddl import install_guards
from gongsheng.adapters.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)
    install_guards(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS journal_entry_balanced ON journal_entries")
    metadata.drop_all(bind)
