"""Where cash earnings per (party, order period) are kept and a party's cash position is read.

Rows are striped like balances (``tables.STRIPES``): a busy merchant or partner is credited by
many concurrent orders, which then rarely meet on a row. Reading a party's position is one
statement (one snapshot on PostgreSQL): its cash balance and its earnings of the periods still
in the hold window, so a refund committing meanwhile is seen in both or in neither.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Integer, bindparam, cast, func, null, select, text, union_all

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows
from gongsheng.adapters.kept_rows import disagreeing
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, PLATFORM_PARTY_ID, AccountKind, Asset, account_id

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


_N, _CASH = ACCOUNTS_PER_PARTY, AccountKind.CASH.code
_OWN_CASH = (f"p.account_id - (p.account_id / {_N}) * {_N} = {_CASH} AND p.asset = 'CNY' "
             f"AND p.account_id / {_N} <> {PLATFORM_PARTY_ID}")
EARNINGS_FROM_HISTORY = (
    # (party, order period, stripe, cash): refunds' cash under their order's period (stripe 0),
    # orders' under their own (stripe 1); what every order and refund wrote, from the journal
    f"SELECT p.account_id / {_N}, o.period, 0, sum(p.amount) "
    "FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
    "JOIN refunds r ON e.kind = 'refund' AND r.id = e.ref_id "
    "JOIN orders o ON o.id = r.order_id "
    f"WHERE {_OWN_CASH} GROUP BY p.account_id / {_N}, o.period "
    "UNION ALL "
    f"SELECT p.account_id / {_N}, e.period, 1, sum(p.amount) "
    "FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
    f"WHERE e.kind = 'order' AND {_OWN_CASH} GROUP BY p.account_id / {_N}, e.period")
"""The earnings the journal implies (migration 0017 fills the table from it; ``verify``
compares the table with it)."""


def backfill_earnings(conn: Connection) -> None:
    """Fill an empty ``earnings`` from the journal (scans history once)."""
    conn.execute(text("INSERT INTO earnings (party_id, period, stripe, amount_fen) "
                      + EARNINGS_FROM_HISTORY))


def earnings_disagreeing(conn: Connection) -> list[tuple[int, int, int, int]]:
    """``(party, period, kept, from the journal)`` wherever the kept earnings (over stripes)
    differ from what the journal implies: none on sound books (``verify``; scans history,
    compared in the database)."""
    off = disagreeing(conn, EARNINGS_FROM_HISTORY, ("party_id", "period", "stripe", "amount_fen"),
                      "earnings", ("party_id", "period"), "amount_fen")
    return [(int(p), int(per), int(kept), int(implied))
            for p, per, kept, implied in off]
