"""Accounts: look-alike key of the username, session generation, disabled flag; database identity.

Existing accounts get their ``username_key`` computed here; should two existing names share a
key, the later account's key is suffixed with ``#<id>`` (it keeps signing in by its exact name)
so that the key can be unique. ``database_identity`` stays empty: its row is made at first use,
so that copies of a freshly migrated template each get their own id.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import database_identity
from gongsheng.services.usernames import username_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("database_identity"):  # 0001 creates it on new databases
        database_identity.create(bind)
    columns = {c["name"] for c in sa.inspect(bind).get_columns("users")}
    if "username_key" in columns:
        return
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(400), nullable=True))
        batch.add_column(sa.Column("session_generation", sa.BigInteger, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("disabled", sa.Boolean, nullable=False,
                                   server_default=sa.text("false")))
    users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("username", sa.String),
                     sa.column("username_key", sa.String))
    seen: set[str] = set()
    for account_id, name in bind.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)):
        key = username_key(name)
        if key in seen:
            key = f"{key}#{account_id}"
        seen.add(key)
        bind.execute(sa.update(users).where(users.c.id == account_id).values(username_key=key))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(400), nullable=False)
        batch.create_unique_constraint("uq_users_username_key", ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_username_key", type_="unique")
        batch.drop_column("disabled")
        batch.drop_column("session_generation")
        batch.drop_column("username_key")
    database_identity.drop(op.get_bind(), checkfirst=True)
