"""Risk: order identifiers (payment_ref, device_id), the shared-identifier graph, flags and cases.

Revision ID: 0018
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongsheng.adapters.tables import (
    IDENTIFIER_LENGTH,
    case_notes,
    case_orders,
    case_parties,
    cases,
    risk_components,
    risk_flags,
    risk_identifiers,
)

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLES = (risk_identifiers, risk_components, risk_flags, cases, case_parties, case_orders,
           case_notes)
_INDEX = "ix_orders_consumer_period"
_REFUNDS_INDEX = "ix_refunds_period"


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in _TABLES:  # 0001 creates them on new databases
        if not inspector.has_table(table.name):
            table.create(bind)
    columns = {c["name"] for c in inspector.get_columns("orders")}
    for name in ("payment_ref", "device_id"):
        if name not in columns:
            op.add_column("orders", sa.Column(name, sa.String(IDENTIFIER_LENGTH), nullable=True))
    if _INDEX not in {i["name"] for i in inspector.get_indexes("orders")}:
        op.create_index(_INDEX, "orders", ["consumer_id", "period", "merchant_id"])
    if _REFUNDS_INDEX not in {i["name"] for i in inspector.get_indexes("refunds")}:
        op.create_index(_REFUNDS_INDEX, "refunds", ["period"])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index(_REFUNDS_INDEX, "refunds")
    op.drop_index(_INDEX, "orders")
    for name in ("device_id", "payment_ref"):
        op.drop_column("orders", name)
    for table in reversed(_TABLES):
        table.drop(bind, checkfirst=True)
