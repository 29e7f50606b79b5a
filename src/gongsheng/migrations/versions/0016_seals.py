"""Seals of closed periods: ``period_seals`` and ``period_seal_chunks``, append-only; periods
closed before are sealed in order (``docs/integrity.md``).

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.seal_store import install_seal_guards
from gongsheng.adapters.tables import period_seal_chunks, period_seals
from gongsheng.services.seals import seal_unsealed
from gongsheng.services.unit_of_work import stores_on

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

_TABLES = (period_seals, period_seal_chunks)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in _TABLES:  # 0001 creates them on new databases
        if not inspector.has_table(table.name):
            table.create(bind)
    install_seal_guards(bind)
    seal_unsealed(stores_on(bind))


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind, checkfirst=True)
