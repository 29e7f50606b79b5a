"""Period closes keep the hash of their request (``close_requests.request_hash``), so a key
reused with another body is a conflict, as for orders, refunds and payouts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("close_requests")}
    if "request_hash" not in columns:  # 0001 creates it on new databases
        op.add_column("close_requests", sa.Column("request_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("close_requests") as batch:
        batch.drop_column("request_hash")
