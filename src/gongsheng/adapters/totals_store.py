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


def _kind_name(code: str) -> str:
    """SQL naming the account kind whose code is the SQL ``code`` (as ``party_totals.posted``
    does)."""
    whens = " ".join(f"WHEN {k.code} THEN '{k.name.lower()}'" for k in AccountKind)
    return f"CASE {code} {whens} END"


FIRST_PARTY_KIND = min(k.code for k in AccountKind if not k.system)
assert all(k.system == (k.code < FIRST_PARTY_KIND) for k in AccountKind)
SALES = (("orders", "count(*)"), ("amount_fen", "sum(amount_fen)"),
         ("concession_fen", "sum(concession_fen)"), ("voucher_fen", "sum(voucher_fen)"),
         ("refunded_fen", "sum(refunded_fen)"))
"""The ``sales:`` totals of a merchant's period and what each sums over its orders."""


def _own_cash(entry_kind: str, order: str) -> str:
    """SELECT of a merchant's ``own_cash:<entry_kind>`` per period, joining the entries of that
    kind with their order (``order``: the join condition) and its merchant's cash legs."""
    n, cash = ACCOUNTS_PER_PARTY, AccountKind.CASH.code
    return f"""SELECT o.merchant_id, e.period, 'own_cash:{entry_kind}', 0, sum(p.amount)
        FROM journal_entries e JOIN orders o ON {order}
        JOIN postings p ON p.entry_id = e.id AND p.account_id = o.merchant_id * {n} + {cash}
        WHERE e.kind = '{entry_kind}'
        GROUP BY o.merchant_id, e.period HAVING sum(p.amount) <> 0"""


def _history_totals(dialect: str) -> str:
    """One SELECT of ``(party, period, name, stripe, value)``: every total as the history implies
    it (stripe 0), the sums reports made over postings and orders before the totals were kept.

    The postings are joined with their entries once (``party_kinds``: a party account's legs
    per period and entry kind), and the party totals and the all-parties totals are summed from
    that. On PostgreSQL that one join also sets the order's merchant's own cash apart, and the
    merchants' ``own_cash`` from orders is summed from it too (a hash join with the orders,
    against a second join of every posting with its entry); SQLite, whose nested loops made the
    orders' lookup for every posting slower than a join of its own, joins the order entries
    with their orders and cash legs apart. Totals are grouped on what they are keyed by and named
    after grouping (a name built for every posting cost a string per row). The orders are read
    once more for the five ``sales:`` sums of every merchant's period (a cross join with the five
    names unpivots them) and once per buyer.
    """
    n, cash = ACCOUNTS_PER_PARTY, AccountKind.CASH.code
    kind = _kind_name(f"account_id % {n}")
    fused = dialect == "postgresql"
    own = f"p.account_id = o.merchant_id * {n} + {cash}"
    party_kinds = f"""
        SELECT p.account_id, e.period, e.kind, {f"{own} AS own, " if fused else ""}
               sum(p.amount) AS total
        FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        {"LEFT JOIN orders o ON e.kind = 'order' AND o.id = e.ref_id" if fused else ""}
        WHERE p.account_id % {n} >= {FIRST_PARTY_KIND}
        GROUP BY p.account_id, e.period, e.kind{f", {own}" if fused else ""}"""
    names = " UNION ALL ".join(f"SELECT '{name}' AS name" for name, _ in SALES)
    pick = " ".join(f"WHEN '{name}' THEN s.{name}" for name, _ in SALES)
    sums = ", ".join(f"{column} AS {name}" for name, column in SALES)
    selects = [
        f"""SELECT account_id / {n}, period, {kind} || ':' || kind, 0, sum(total)
            FROM party_kinds GROUP BY account_id, period, kind""",
        f"""SELECT {PLATFORM_PARTY_ID}, 0, 'parties:' || {kind}, 0, sum(total)
            FROM party_kinds GROUP BY account_id % {n}""",
        f"""SELECT account_id / {n}, period, 'own_cash:order', 0, sum(total)
            FROM party_kinds WHERE own GROUP BY account_id, period HAVING sum(total) <> 0"""
        if fused else _own_cash("order", "o.id = e.ref_id"),
        f"""SELECT merchant_id, period, 'sales:' || name, 0, value FROM (
                SELECT s.merchant_id, s.period, n.name, CASE n.name {pick} END AS value
                FROM (SELECT merchant_id, period, {sums} FROM orders
                      GROUP BY merchant_id, period) AS s
                CROSS JOIN ({names}) AS n) AS unpivoted
            WHERE value <> 0""",
        """SELECT consumer_id, period, 'buyer:orders', 0, count(*) FROM orders
           GROUP BY consumer_id, period""",
        """SELECT referrer_id, 0, 'referees:idle', 0, count(*) FROM consumers
           WHERE referrer_id IS NOT NULL AND first_order_key IS NULL GROUP BY referrer_id""",
        _own_cash("refund", "o.id = (SELECT r.order_id FROM refunds r WHERE r.id = e.ref_id)")]
    return f"WITH party_kinds AS ({party_kinds}) " + " UNION ALL ".join(selects)


def backfill_party_totals(conn: Connection) -> None:
    """Fill an empty ``party_period_totals`` from the whole history (one row per total, stripe
    0). Scans history once (migration 0019)."""
    conn.execute(text("INSERT INTO party_period_totals (party_id, period, name, stripe, value) "
                      + _history_totals(conn.dialect.name)))


def totals_disagreeing(conn: Connection) -> list[tuple[int, int, str, int, int]]:
    """``(party, period, name, kept, from the history)`` wherever a kept total (over stripes)
    differs from what the history implies: none on sound books (``verify``; scans history,
    compared in the database)."""
    off = disagreeing(conn, _history_totals(conn.dialect.name),
                      ("party_id", "period", "name", "stripe", "value"), "party_period_totals",
                      ("party_id", "period", "name"), "value")
    return [(int(p), int(per), str(n), int(kept), int(implied))
            for p, per, n, kept, implied in off]
