"""Where journal entries are written and balances read.

Posting an entry writes the entry row, its numbered legs, and adds each leg onto the account's
balance row (striped for every account that may go negative, see ``tables.STRIPES``), all in the caller's
transaction. A must-stay-positive balance that would go negative makes the database refuse the
write (``CHECK``), which :func:`post` reports as :class:`InsufficientBalance`.

A *taking* is a net decrease of a must-stay-positive balance row (a voucher spend, a take-back).
A database checks a row proposed for insertion before it sees the conflict, so a taking never
proposes its negative amount. On PostgreSQL an entry is one statement: one upsert adds its
balance rows, takings included, in key order (:data:`BALANCE_CTES`: a taking proposes 0 and
updates the row only if it covers the taking), and the statement returns the takings done
(:func:`check_taken`). Statement by statement (SQLite, several entries at once) the additions
are upserted, then each taking is a plain ``UPDATE`` in key order (the ``CHECK`` sees the new
balance); a taking that finds no row took from nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows, Along, upsert_add
from gongsheng.adapters.kept_rows import disagreeing
from gongsheng.adapters.pg_arrays import column_arrays
from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.ledger import (
    ACCOUNTS_PER_PARTY,
    AccountKind,
    Asset,
    JournalEntry,
    Posting,
    account_name,
    system_account,
)
from gongsheng.domain.party_totals import LIFETIME, entry_totals, merged

_rng = random.Random()
_KINDS = {k.code: k for k in AccountKind}


def stripe_for(account: int, stripe: int | None = None) -> int:
    """0 for a must-stay-positive account (one row, so its ``CHECK`` holds); ``stripe``, or a
    random stripe, for every other (system accounts, and parties' cash, which may go negative
    and is credited by many concurrent orders: a partner's, a BM's, a merchant's).

    A writer that moves several striped accounts does best to use one stripe for all of them:
    two concurrent writers then meet on a row only when they drew the same stripe."""
    if _KINDS[account % ACCOUNTS_PER_PARTY].nonnegative:
        return 0
    return _rng.randrange(t.STRIPES) if stripe is None else stripe


def post(conn: Connection, entry: JournalEntry, period: int, ref_id: int | None = None, *,
         along: Sequence[Along] = ()) -> int:
    """Write a balanced entry and update balances; returns the entry id.

    ``along`` are additive upserts and keyed updates on other tables that belong with the entry
    (a holder's settlement checkpoints, a take-back's holding and group): on PostgreSQL they
    join the entry's one statement. Each writes a table the entry does not, and no two of them
    write the same row (a statement sees one snapshot: two writes of a row would conflict).
    """
    return post_many(conn, [(entry, period, ref_id)], along=along)[0]


_BALANCE_DELTA = ("CASE WHEN excluded.amount <> 0 THEN excluded.amount ELSE"
                  " (SELECT bd.amount FROM bd WHERE bd.account_id = excluded.account_id"
                  " AND bd.asset = excluded.asset AND bd.stripe = excluded.stripe) END")
"""A row's delta in ``ON CONFLICT``: the proposed amount, except for a row proposed as 0 (a
taking, clamped so the insert passes its ``CHECK``), whose delta is looked up among the
statement's rows. The lookup scans them, so it is kept to the takings (few, and one or two in a
voucher order): run for every row, a batch of thousands of rows cost time quadratic in its
size."""
_BALANCE_CTES_SQL = f"""
bd AS (
    SELECT * FROM unnest(%(b0)s::bigint[], %(b1)s::text[], %(b2)s::integer[], %(b3)s::bigint[],
                         %(b4)s::boolean[]) AS x(account_id, asset, stripe, amount, nonneg)
), b AS (
    INSERT INTO balances (account_id, asset, stripe, amount, nonneg)
    SELECT account_id, asset, stripe, CASE WHEN nonneg AND amount < 0 THEN 0 ELSE amount END, nonneg
    FROM bd ORDER BY 1, 2, 3
    ON CONFLICT (account_id, asset, stripe) DO UPDATE SET amount = balances.amount + {_BALANCE_DELTA}
    WHERE NOT balances.nonneg OR balances.amount + {_BALANCE_DELTA} >= 0
    RETURNING balances.account_id, balances.asset, balances.stripe, balances.xmax = 0 AS inserted
)"""
BALANCE_CTES = " ".join(_BALANCE_CTES_SQL.split())
"""The CTEs that add a statement's balance rows (parameters ``b0``-``b4``: account, asset,
stripe, delta, must stay positive), additions and takings in one upsert, in key order, so that
every writer locks balance rows in one order, new rows included.

A taking (:func:`is_taking`) proposes a row of 0 (a row proposed for insertion is checked
before the conflict is seen, and a negative one would fail the ``CHECK``) and updates the row
that exists, from its latest committed amount (as ``ON CONFLICT`` reads it, under the row's lock),
only if that amount covers it. A taking is done if its row comes back updated, not inserted:
:data:`TAKEN` lists those, :func:`check_taken` refuses the rest. The statement's main query must
read :data:`TAKEN`, which makes the balances the first rows the statement locks after its own new
rows, as in every statement that writes them."""
TAKEN = ("(SELECT array_agg(b.account_id) FROM b JOIN bd USING (account_id, asset, stripe)"
         " WHERE NOT b.inserted AND bd.nonneg AND bd.amount < 0)")
"""The takings whose existing balance rows the statement updated (a taking not among them took
nothing: its row did not exist or held too little); null when there is none."""

_FUSED_POST_SQL = f"""
WITH e AS (
    INSERT INTO journal_entries (kind, period, ref_id, leg_count, memo)
    VALUES (%(kind)s, %(period)s::integer, %(ref)s::bigint, %(n)s::integer, %(memo)s) RETURNING id
), p AS (
    INSERT INTO postings (entry_id, leg, account_id, asset, amount)
    SELECT e.id, l.leg, l.account_id, l.asset, l.amount FROM e,
        unnest(%(l0)s::integer[], %(l1)s::bigint[], %(l2)s::text[], %(l3)s::bigint[])
        AS l(leg, account_id, asset, amount)
), {BALANCE_CTES}
SELECT id, {TAKEN} FROM e
"""
_FUSED_POST = " ".join(_FUSED_POST_SQL.split())  # short SQL text: psycopg caches its parse

BalanceRow = tuple[int, str, int, int, bool]
"""``(account, asset, stripe, delta, nonneg)``: what an entry adds to one balance row."""


def is_taking(row: BalanceRow) -> bool:
    """Whether ``row`` lowers a must-stay-positive balance."""
    return row[4] and row[3] < 0


def split_takings(rows: Sequence[BalanceRow]) -> tuple[list[BalanceRow], list[BalanceRow]]:
    """``rows`` as the additions (upserted) and the takings (updated), each in key order."""
    return sorted(r for r in rows if not is_taking(r)), sorted(r for r in rows if is_taking(r))


def refused(takings: Sequence[BalanceRow]) -> InsufficientBalance:
    """The error of takings a balance does not cover: each account and the amount to take named,
    never a balance (a voucher order's caller is the merchant, who may not read the consumer's)."""
    return InsufficientBalance("; ".join(
        f"{account_name(acc)} holds less than the {-amount} {asset} to take from it"
        for acc, asset, _, amount, _ in takings) + "; nothing was posted")


def check_taken(taken: Sequence[int] | None, takings: Sequence[BalanceRow]) -> None:
    """Refuse the statement's write unless each taking is among the accounts ``taken`` lists
    (:data:`TAKEN`: updated; the caller rolls back); the error names those that fell short."""
    done = set(taken or ())
    short = [r for r in takings if r[0] not in done]
    if short:
        raise refused(short)


def _post_fused(conn: Connection, entry: JournalEntry, period: int, ref_id: int | None,
                rows: list[BalanceRow], along: Sequence[Along]) -> int:
    """PostgreSQL: entry, legs, balances (takings too) and ``along`` in one statement (one
    round trip)."""
    takings = [r for r in rows if is_taking(r)]
    sql, params = _FUSED_POST, dict[str, object]()
    if along:
        ctes = []
        for i, extra in enumerate(along):
            text, values = extra.pg_statement(prefix=f"a{i}_")
            ctes.append(f"a{i} AS ({text})")
            params.update(values)
        sql = sql.replace("WITH ", f"WITH {', '.join(ctes)}, ", 1)
    legs = list(enumerate(entry.postings))
    params |= {
        "kind": entry.kind.value, "period": period, "ref": ref_id, "n": len(legs),
        "memo": entry.memo[:200],
        **column_arrays("l", [(i, p.account, p.asset.value, p.amount) for i, p in legs], 4),
        **column_arrays("b", sorted(rows), 5),
    }
    row = conn.exec_driver_sql(sql, params).one()
    if takings:
        check_taken(row[1], takings)
    return int(row[0])


def post_many(conn: Connection, entries: Sequence[tuple[JournalEntry, int, int | None]], *,
              along: Sequence[Along] = ()) -> list[int]:
    """Write several entries (and the ``along`` writes) in the caller's transaction; returns the
    entries' ids in order.

    On PostgreSQL a single entry is written in one statement; otherwise the ``along`` rows, the
    entry rows, the legs and the balance rows are written in turn. Every entry's legs are also
    added to the per-(party, period) totals (``party_period_totals``), merged with any ``along``
    rows of that table.
    """
    along = with_totals(along, total_rows(entries, _rng.randrange(t.STRIPES)))
    if conn.dialect.name == "postgresql" and len(entries) == 1:
        entry, period, ref_id = entries[0]
        return [_post_fused(conn, entry, period, ref_id, _balance_rows(entry.postings), along)]
    for extra in along:
        extra.write(conn)
    ids: list[int] = []
    legs: list[dict[str, object]] = []
    for entry, period, ref_id in entries:
        entry_id = conn.execute(
            insert(t.journal_entries).returning(t.journal_entries.c.id),
            {"kind": entry.kind.value, "period": period, "ref_id": ref_id,
             "leg_count": len(entry.postings), "memo": entry.memo[:200]},
        ).scalar_one()
        ids.append(entry_id)
        for leg, p in enumerate(entry.postings):
            legs.append({"entry_id": entry_id, "leg": leg, "account_id": p.account,
                         "asset": p.asset.value, "amount": p.amount})
    conn.execute(insert(t.postings), legs)
    adds, takings = split_takings(
        _balance_rows([p for entry, _, _ in entries for p in entry.postings]))
    upsert_add(conn, t.balances, ("account_id", "asset", "stripe"), ("amount",), adds,
               extras=("nonneg",))
    for taking in takings:  # in key order (split_takings)
        acc, asset, stripe, amount, _ = taking
        try:
            found = conn.execute(
                update(t.balances).where(t.balances.c.account_id == acc, t.balances.c.asset == asset,
                                         t.balances.c.stripe == stripe)
                .values(amount=t.balances.c.amount + amount)).rowcount
        except InsufficientBalance:  # the balance's check refused it (adapters/storage_errors.py)
            found = 0
        if found != 1:
            raise refused([taking])
    return ids


TOTAL_KEYS = ("party_id", "period", "name", "stripe")


def total_rows(entries: Sequence[tuple[JournalEntry, int, int | None]],
               stripe: int) -> list[tuple[int, int, str, int, int]]:
    """``(party, period, name, stripe, value)`` rows the entries add to the party totals (and
    the lifetime all-parties totals): in ``stripe``, but in stripe 0 for a must-stay-positive
    account (one holder writes it)."""
    return [(party, period if own else LIFETIME, name, 0 if nonneg else stripe, v)
            for entry, period, _ in entries
            for (party, own, name, nonneg), v in entry_totals(entry).items()]


def with_totals(along: Sequence[Along],
                rows: Sequence[tuple[int, int, str, int, int]]) -> tuple[Along, ...]:
    """``along`` with ``rows`` merged into one upsert of ``party_period_totals`` (one statement
    never adds to the same row twice)."""
    table = t.party_period_totals
    extra = [r for a in along if isinstance(a, AddRows) and a.table is table for r in a.rows]
    rest = tuple(a for a in along if not (isinstance(a, AddRows) and a.table is table))
    rows = merged([*rows, *extra])
    return (*rest, AddRows(table, TOTAL_KEYS, ("value",), tuple(rows))) if rows else rest


def _balance_rows(postings: Sequence[Posting]) -> list[BalanceRow]:
    """``(account, asset, stripe, delta, nonneg)`` per balance row the postings move."""
    deltas: dict[tuple[int, str, int], int] = defaultdict(int)
    for p in postings:
        deltas[(p.account, p.asset.value, stripe_for(p.account))] += p.amount
    return [(acc, asset, stripe, amount, _KINDS[acc % ACCOUNTS_PER_PARTY].nonnegative)
            for (acc, asset, stripe), amount in deltas.items() if amount]


def balance(conn: Connection, account: int, asset: Asset) -> int:
    """The balance of one account in one asset (sum over its stripes)."""
    total = conn.execute(
        select(func.coalesce(func.sum(t.balances.c.amount), 0)).where(
            t.balances.c.account_id == account, t.balances.c.asset == asset.value)
    ).scalar_one()
    return int(total)


_PARTY_BALANCES = (
    select(t.balances.c.account_id, func.sum(t.balances.c.amount))
    .where(t.balances.c.account_id.between(bindparam("low"), bindparam("high")))
    .group_by(t.balances.c.account_id)
)


def party_balances(conn: Connection, party_id: int) -> dict[AccountKind, int]:
    """Every balance of one party's own accounts (one range read; 0 where it has none)."""
    low = party_id * ACCOUNTS_PER_PARTY
    rows = conn.execute(_PARTY_BALANCES, {"low": low, "high": low + ACCOUNTS_PER_PARTY - 1}).all()
    found = {_KINDS[int(a) - low]: int(s) for a, s in rows}
    return {k: found.get(k, 0) for k in AccountKind if not k.system}


def trial_balance(conn: Connection) -> dict[tuple[int, Asset], int]:
    """Balance per (account, asset) from the balance rows: O(accounts), not O(history)."""
    rows = conn.execute(
        select(t.balances.c.account_id, t.balances.c.asset, func.sum(t.balances.c.amount))
        .group_by(t.balances.c.account_id, t.balances.c.asset)
    ).all()
    return {(int(a), Asset(s)): int(v) for a, s, v in rows if v}


def balances_page(conn: Connection, after: int | None, limit: int,
                  high: int | None = None) -> list[tuple[int, Asset, int]]:
    """``(account, asset, balance)`` of up to ``limit`` accounts with an id above ``after`` (and
    at most ``high``), by id, zero balances left out: a range of the balance rows' key, so a
    page costs the same however many accounts there are."""
    b = t.balances
    query = (select(b.c.account_id, b.c.asset, func.sum(b.c.amount))
             .group_by(b.c.account_id, b.c.asset).having(func.sum(b.c.amount) != 0)
             .order_by(b.c.account_id, b.c.asset).limit(limit))
    if after is not None:
        query = query.where(b.c.account_id > after)
    if high is not None:
        query = query.where(b.c.account_id <= high)
    return [(int(a), Asset(s), int(v)) for a, s, v in conn.execute(query).all()]


def journal_balances(conn: Connection) -> dict[tuple[int, Asset], int]:
    """Balance per (account, asset) recomputed from every posting (for ``verify``; scans history)."""
    rows = conn.execute(
        select(t.postings.c.account_id, t.postings.c.asset, func.sum(t.postings.c.amount))
        .group_by(t.postings.c.account_id, t.postings.c.asset)
    ).all()
    return {(int(a), Asset(s)): int(v) for a, s, v in rows if v}


def balances_disagreeing(conn: Connection) -> list[tuple[int, Asset, int, int]]:
    """``(account, asset, kept, from the journal)`` wherever a balance (over stripes) differs from
    the sum of its postings: none on sound books (``verify``; scans history, compared in the
    database). The postings are summed per account before the comparison: PostgreSQL sums
    them in parallel, where the comparison's own grouping of every posting ran in one process."""
    off = disagreeing(conn, "SELECT account_id, asset, sum(amount) FROM postings"
                            " GROUP BY account_id, asset",
                      ("account_id", "asset", "amount"), "balances", ("account_id", "asset"),
                      "amount")
    return [(int(a), Asset(s), int(kept), int(journal)) for a, s, kept, journal in off]


def asset_totals(conn: Connection) -> dict[Asset, int]:
    """Every account's balance summed per asset, from the balance rows (zero on sound books)."""
    b = t.balances
    return {Asset(s): int(v) for s, v in conn.execute(
        select(b.c.asset, func.sum(b.c.amount)).group_by(b.c.asset))}


def system_balance(conn: Connection, kind: AccountKind) -> int:
    """The balance of one of the platform's system accounts."""
    return balance(conn, system_account(kind), kind.asset)
