"""Integration keys (``api_keys``).

Revision ID: 0014
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import api_keys

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(api_keys.name):  # 0001 creates it on new databases
        api_keys.create(bind)


def downgrade() -> None:
    api_keys.drop(op.get_bind(), checkfirst=True)
