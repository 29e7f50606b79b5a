"""A leaner order path: no foreign keys on the rows every order inserts, a one-pass entry check.

- drops ``postings.entry_id -> journal_entries`` (the journal's statement trigger refuses a leg
  without its entry) and ``orders.consumer_id / merchant_id / policy_version_id`` (read in the
  order's own transaction; ``verify`` reports an order naming an unknown party or version); see
  the module docstring of ``adapters/tables.py`` for the trade;
- redefines the journal guards' functions (``ddl.POSTGRES``): the commit-time entry check reads
  an entry's legs once instead of twice.

Idempotent: a database created by 0001 from a newer metadata has none of these constraints and
already the new functions; both steps then change nothing. SQLite keeps the constraints of
databases made before (dropping them would rebuild the tables; its guards do not depend on them).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from gongsheng.adapters.ddl import replace_guard_functions

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DROPPED = (
    ("postings", "fk_postings_entry_id_journal_entries"),
    ("orders", "fk_orders_consumer_id_consumers"),
    ("orders", "fk_orders_merchant_id_merchants"),
    ("orders", "fk_orders_policy_version_id_policy_versions"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, name in DROPPED:
        bind.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
    replace_guard_functions(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(
        "ALTER TABLE postings ADD CONSTRAINT fk_postings_entry_id_journal_entries "
        "FOREIGN KEY (entry_id) REFERENCES journal_entries (id)")
    for column, target in (("consumer_id", "consumers (party_id)"),
                           ("merchant_id", "merchants (party_id)"),
                           ("policy_version_id", "policy_versions (id)")):
        name = f"fk_orders_{column}_{target.split(' ')[0]}"
        bind.exec_driver_sql(f"ALTER TABLE orders ADD CONSTRAINT {name} "
                             f"FOREIGN KEY ({column}) REFERENCES {target}")
