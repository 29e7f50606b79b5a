"""Where cash earnings per (party, order period) are kept and a party's cash position is read.

Rows are striped like balances (``tables.STRIPES``): a busy merchant or partner is credited by
many concurrent orders, which then rarely meet on a row. Reading a party's position is one
statement (one snapshot on PostgreSQL): its cash balance and its earnings of the periods still
in the hold window, so a refund committing meanwhile is seen in both or in neither.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Integer, bindparam, cast, func, null, select, union_all

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows
from gongsheng.domain.ledger import AccountKind, Asset, account_id

KEYS = ("party_id", "period", "stripe")


def earnings_rows(per_party: Mapping[int, int], period: int, stripe: int) -> AddRows:
    """The additive upsert that attributes ``per_party`` cash to ``period`` (in one stripe)."""
    return AddRows(t.earnings, KEYS, ("amount_fen",),
                   tuple((p, period, stripe, v) for p, v in sorted(per_party.items()) if v))


_e, _b = t.earnings, t.balances
_POSITION = union_all(
    select(cast(null(), Integer).label("period"), func.coalesce(func.sum(_b.c.amount), 0))
    .where(_b.c.account_id == bindparam("cash"), _b.c.asset == Asset.CNY.value),
    select(_e.c.period, func.sum(_e.c.amount_fen))
    .where(_e.c.party_id == bindparam("party"), _e.c.period >= bindparam("since"))
    .group_by(_e.c.period),
)


def cash_and_recent_earnings(conn: Connection, party_id: int,
                             since: int) -> tuple[int, dict[int, int]]:
    """``(cash balance, {period: net earnings})`` for the periods from ``since`` on, read together."""
    balance, earned = 0, {}
    for period, amount in conn.execute(_POSITION, {
            "cash": account_id(party_id, AccountKind.CASH), "party": party_id, "since": since}):
        if period is None:
            balance = int(amount)
        else:
            earned[int(period)] = int(amount)
    return balance, earned
