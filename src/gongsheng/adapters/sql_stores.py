"""The SQL stores of one connection, built together (the real unit of work's wiring uses it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from gongsheng.adapters.holding_store import SqlHoldingStore
from gongsheng.adapters.ledger import SqlLedgerStore
from gongsheng.adapters.party_store import SqlPartyStore
from gongsheng.adapters.period_store import SqlPeriodStore
from gongsheng.adapters.policy_store import SqlPolicyStore
from gongsheng.adapters.programme_store import SqlProgrammeStore
from gongsheng.adapters.request_store import SqlRequestStore


@dataclass(frozen=True)
class SqlStores:
    """Every store on one connection: they share its transaction."""

    ledger: SqlLedgerStore
    holdings: SqlHoldingStore
    periods: SqlPeriodStore
    parties: SqlPartyStore
    requests: SqlRequestStore
    policies: SqlPolicyStore
    programmes: SqlProgrammeStore


def sql_stores(conn: Connection) -> SqlStores:
    return SqlStores(SqlLedgerStore(conn), SqlHoldingStore(conn), SqlPeriodStore(conn),
                     SqlPartyStore(conn), SqlRequestStore(conn), SqlPolicyStore(conn),
                     SqlProgrammeStore(conn))
