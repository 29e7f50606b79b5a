"""Reading the per-(party, period) totals (``party_period_totals``, see domain/party_totals.py).

A read touches only the named parties' rows (the primary key starts with ``party_id``):
O(periods x names x stripes) per party, never the postings or orders behind them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select, text

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.kept_rows import disagreeing
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, PLATFORM_PARTY_ID, AccountKind
from gongsheng.domain.party_totals import IDLE_REFEREES, LIFETIME


def party_totals(conn: Connection, parties: Sequence[int],
                 prefix: str | None = None) -> dict[tuple[int, int, str], int]:
    """``(party, period, name) -> value`` summed over stripes, for ``parties`` (names starting
    with ``prefix`` only, if given)."""
    if not parties:
        return {}
    pt = t.party_period_totals
    query = (select(pt.c.party_id, pt.c.period, pt.c.name, func.sum(pt.c.value))
             .where(pt.c.party_id.in_(sorted(set(parties))))
             .group_by(pt.c.party_id, pt.c.period, pt.c.name))
    if prefix is not None:
        query = query.where(pt.c.name.startswith(prefix, autoescape=True))
    return {(int(p), int(per), str(n)): int(v) for p, per, n, v in conn.execute(query).all()}


def add_idle_referee(conn: Connection, referrer: int) -> None:
    """One more consumer referred by ``referrer`` who has not ordered yet."""
    upsert_add(conn, t.party_period_totals, ("party_id", "period", "name", "stripe"), ("value",),
               [(referrer, LIFETIME, IDLE_REFEREES, 0, 1)])


def _kind_name() -> str:
    """SQL naming the account kind of ``p.account_id`` (as ``party_totals.posted`` does)."""
    whens = " ".join(f"WHEN {k.code} THEN '{k.name.lower()}'" for k in AccountKind)
    return f"CASE p.account_id % {ACCOUNTS_PER_PARTY} {whens} END"


FIRST_PARTY_KIND = min(k.code for k in AccountKind if not k.system)
assert all(k.system == (k.code < FIRST_PARTY_KIND) for k in AccountKind)


def _history_totals() -> list[str]:
    """SELECTs of ``(party, period, name, stripe, value)``: every total as the history implies
    it (stripe 0), the sums reports made over postings and orders before the totals were kept."""
    kind = _kind_name()
    selects = [f"""
        SELECT p.account_id / {ACCOUNTS_PER_PARTY}, e.period, {kind} || ':' || e.kind, 0,
               sum(p.amount)
        FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        WHERE p.account_id % {ACCOUNTS_PER_PARTY} >= {FIRST_PARTY_KIND}
        GROUP BY p.account_id / {ACCOUNTS_PER_PARTY}, e.period, {kind} || ':' || e.kind"""]
    selects += [f"""
            SELECT merchant_id, period, 'sales:{name}', 0, sum({column}) FROM orders
            GROUP BY merchant_id, period HAVING sum({column}) <> 0"""
                for name, column in (("orders", "1"), ("amount_fen", "amount_fen"),
                                     ("concession_fen", "concession_fen"),
                                     ("voucher_fen", "voucher_fen"),
                                     ("refunded_fen", "refunded_fen"))]
    selects.append("""
        SELECT consumer_id, period, 'buyer:orders', 0, count(*) FROM orders
        GROUP BY consumer_id, period""")
    selects.append(f"""
        SELECT {PLATFORM_PARTY_ID}, 0, 'parties:' || {kind}, 0, sum(p.amount) FROM postings p
        WHERE p.account_id % {ACCOUNTS_PER_PARTY} >= {FIRST_PARTY_KIND}
        GROUP BY {kind}""")
    selects.append("""
        SELECT referrer_id, 0, 'referees:idle', 0, count(*) FROM consumers
        WHERE referrer_id IS NOT NULL AND first_order_key IS NULL GROUP BY referrer_id""")
    cash = AccountKind.CASH.code
    selects += [f"""
            SELECT o.merchant_id, e.period, 'own_cash:{entry_kind}', 0, sum(p.amount)
            FROM journal_entries e JOIN orders o ON {join}
            JOIN postings p ON p.entry_id = e.id
                AND p.account_id = o.merchant_id * {ACCOUNTS_PER_PARTY} + {cash}
            WHERE e.kind = '{entry_kind}'
            GROUP BY o.merchant_id, e.period HAVING sum(p.amount) <> 0"""
                for entry_kind, join in (
                    ("order", "o.id = e.ref_id"),
                    ("refund", "o.id = (SELECT r.order_id FROM refunds r WHERE r.id = e.ref_id)"))]
    return selects


def backfill_party_totals(conn: Connection) -> None:
    """Fill an empty ``party_period_totals`` from the whole history (one row per total, stripe
    0). Scans history once (migration 0019)."""
    for select_sql in _history_totals():
        conn.execute(text("INSERT INTO party_period_totals (party_id, period, name, stripe, value)"
                          + select_sql))


def totals_disagreeing(conn: Connection) -> list[tuple[int, int, str, int, int]]:
    """``(party, period, name, kept, from the history)`` wherever a kept total (over stripes)
    differs from what the history implies: none on sound books (``verify``; scans history,
    compared in the database)."""
    off = disagreeing(conn, " UNION ALL ".join(_history_totals()),
                      ("party_id", "period", "name", "stripe", "value"), "party_period_totals",
                      ("party_id", "period", "name"), "value")
    return [(int(p), int(per), str(n), int(kept), int(implied))
            for p, per, n, kept, implied in off]
