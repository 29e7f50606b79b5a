"""The audit trail: ``audit_log`` (who did what), append-only under triggers like the journal.

Revision ID: 0015
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.ddl import install_audit_guards
from gongsheng.adapters.tables import audit_log

revision = "0015"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(audit_log.name):  # 0001 creates it on new databases
        audit_log.create(bind)
    install_audit_guards(bind)  # idempotent: 0001 installs them too


def downgrade() -> None:
    bind = op.get_bind()
    audit_log.drop(bind, checkfirst=True)  # its triggers go with it
