"""Writing placed orders to PostgreSQL in one statement (data-modifying CTEs).

An order touches ten tables: its row, its journal entry and legs, the balance rows, the
holdings of points, the release groups' points, the cash earnings of its period (holds), the
period counters, the consumer's last-active period, and the outbox (its ``order.placed`` event,
and any event recorded before it in the transaction: ``event_store.outbox_insert``).
:func:`insert_orders_pg` writes all of that, for one order or a batch of them, in a single round
trip: the rows travel as arrays
(``unnest``, each array one text parameter holding its literal, see ``pg_arrays``), so the
statement text and parameter types never change and psycopg prepares it once per connection
(PostgreSQL then reuses a generic plan). It writes exactly what the statement-by-statement path
(:func:`write_orders`, below, SQLite's) writes. Rows are sorted by key before they are written,
as in ``bulk.upsert_add``, so concurrent writers lock shared rows in the same order, and the
balances first (the statement reads what their upsert did: ``ledger_store.BALANCE_CTES``,
whose upsert also makes a voucher spend's take from the amount the row holds when locked). The
same statement counts, for the velocity cap (``services.velocity``), each order's consumer's
orders of its period committed before it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy import Connection, insert, update

from gongsheng.adapters import locks
from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows, upsert_add
from gongsheng.adapters.earnings_store import earnings_rows
from gongsheng.adapters.event_store import add_events, outbox_insert, outbox_params
from gongsheng.adapters.ledger_store import (
    BALANCE_CTES,
    TAKEN,
    TOTAL_KEYS,
    check_taken,
    is_taking,
    post,
    stripe_for,
    total_rows,
)
from gongsheng.adapters.period_store import add_counters
from gongsheng.adapters.pg_arrays import array_literal, column_arrays, int_array
from gongsheng.adapters.pg_raw import fetch_all
from gongsheng.adapters.risk_store import velocity_counts
from gongsheng.domain.events import Recorded, filled
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, AccountKind, Asset, JournalEntry
from gongsheng.domain.orders import Counts, OrderRows, Written
from gongsheng.domain.party_totals import (
    BUYER_ORDERS,
    IDLE_REFEREES,
    LIFETIME,
    cash_leg,
    merged,
    order_sales,
)

ORDER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("idem_key", "text"), ("request_hash", "text"), ("consumer_id", "bigint"),
    ("merchant_id", "bigint"), ("channel", "text"), ("region_id", "bigint"), ("period", "integer"),
    ("policy_version_id", "bigint"), ("amount_fen", "bigint"), ("voucher_fen", "bigint"),
    ("voucher_cost_fen", "bigint"), ("concession_fen", "bigint"), ("concession_rate", "text"),
    ("contract_rate", "text"), ("pool_fen", "bigint"), ("allocations", "text"),
    ("consumer_cpts", "bigint"), ("merchant_cpts", "bigint"), ("referrer_id", "bigint"),
    ("referrer_cpts", "bigint"), ("refunded_fen", "bigint"), ("payment_ref", "text"),
    ("device_id", "text"),
)

_stripes = random.Random()
_KINDS = {k.code: k for k in AccountKind}
_ASSET = {a: a.value for a in Asset}


def _unnest(prefix: str, columns: Sequence[tuple[str, str]]) -> str:
    arrays = ", ".join(f"%({prefix}{i})s::{kind}[]" for i, (_, kind) in enumerate(columns))
    names = ", ".join(name for name, _ in columns)
    return f"unnest({arrays}) AS {prefix}({names})"


def _bare(prefix: str, columns: Sequence[tuple[str, str]]) -> str:
    """``unnest`` of typed arrays without column names (rows inserted whole, sorted by position)."""
    arrays = ", ".join(f"%({prefix}{i})s::{kind}[]" for i, (_, kind) in enumerate(columns))
    return f"unnest({arrays}) AS {prefix}"


_BALANCE = (("account_id", "bigint"), ("asset", "text"), ("stripe", "integer"),
            ("amount", "bigint"), ("nonneg", "boolean"))
_HOLDING = (("holder_id", "bigint"), ("start_period", "integer"), ("multiple", "text"),
            ("points_cpts", "bigint"))
_GROUP = (("start_period", "integer"), ("multiple", "text"), ("stripe", "integer"),
          ("points_cpts", "bigint"))
_EARNING = (("party_id", "bigint"), ("period", "integer"), ("stripe", "integer"),
            ("amount_fen", "bigint"))
_COUNTER = (("period", "integer"), ("name", "text"), ("stripe", "integer"), ("value", "bigint"))
_LEG = (("idem_key", "text"), ("leg", "integer"), ("account_id", "bigint"), ("asset", "text"),
        ("amount", "bigint"))
_ACTIVE = (("party_id", "bigint"), ("period", "integer"), ("stripe", "integer"))
_TOTAL = (("party_id", "bigint"), ("period", "integer"), ("name", "text"), ("stripe", "integer"),
          ("value", "bigint"))


def party_total_rows(batch: Sequence[OrderRows], stripe: int) -> list[tuple[int, int, str, int, int]]:
    """The per-(party, period) totals the orders of ``batch`` add (their legs, and each
    merchant's own sales), merged per key."""
    rows = total_rows([(r.entry, r.order["period"], None) for r in batch], stripe)
    for r in batch:
        period, merchant = r.order["period"], r.order["merchant_id"]
        rows += [(merchant, period, name, stripe, v) for name, v in order_sales(r.order, r.entry).items()]
        rows += _buyer_rows(r)
    return merged(rows)


def _buyer_rows(rows: OrderRows) -> list[tuple[int, int, str, int, int]]:
    """The consumer's order count, and its referrer's idle referees on a first order."""
    out = [(rows.order["consumer_id"], rows.order["period"], BUYER_ORDERS, 0, 1)]
    if rows.referred_by is not None:
        out.append((rows.referred_by, LIFETIME, IDLE_REFEREES, 0, -1))
    return out


def refund_totals(merchant: int, order_period: int, period: int, amount_fen: int,
                  entry: JournalEntry, stripe: int) -> AddRows:
    """The merchant's own-sales totals a refund moves: ``sales:refunded_fen`` in the order's
    period, ``own_cash:refund`` (what the refund took from its cash) in the refund's."""
    rows = [(merchant, order_period, "sales:refunded_fen", stripe, amount_fen),
            (merchant, period, "own_cash:refund", stripe, cash_leg(entry, merchant))]
    return AddRows(t.party_period_totals, TOTAL_KEYS, ("value",), tuple(merged(rows)))


def sales_totals(rows: OrderRows, stripe: int) -> AddRows:
    """The merchant's own-sales totals of one order, as an upsert to post along its entry
    (whose legs ``ledger_store.post`` adds to the totals itself)."""
    period, merchant = rows.order["period"], rows.order["merchant_id"]
    return AddRows(t.party_period_totals, TOTAL_KEYS, ("value",), tuple(
        [(merchant, period, name, stripe, v) for name, v in order_sales(rows.order, rows.entry).items()]
        + _buyer_rows(rows)))

_SQL = f"""
WITH o AS (
    INSERT INTO orders ({", ".join(n for n, _ in ORDER_COLUMNS)})
    SELECT {", ".join(n for n, _ in ORDER_COLUMNS)}
    FROM {_unnest("r", (*ORDER_COLUMNS, ("leg_count", "integer"), ("ord", "integer")))}
    ORDER BY ord
    RETURNING id, idem_key, period, consumer_id, merchant_id
), e AS (
    INSERT INTO journal_entries (kind, period, ref_id, leg_count, memo)
    SELECT 'order', o.period, o.id, k.leg_count, 'order ' || o.id
    FROM o JOIN unnest(%(r0)s::text[], %(r{len(ORDER_COLUMNS)})s::integer[])
        AS k(idem_key, leg_count) USING (idem_key)
    ORDER BY o.id
    RETURNING id, ref_id
), p AS (
    INSERT INTO postings (entry_id, leg, account_id, asset, amount)
    SELECT e.id, l.leg, l.account_id, l.asset, l.amount
    FROM {_unnest("l", _LEG)} JOIN o USING (idem_key) JOIN e ON e.ref_id = o.id
), {BALANCE_CTES}, h AS (
    INSERT INTO holdings (holder_id, start_period, multiple, points_cpts)
    SELECT * FROM {_bare("h", _HOLDING)} ORDER BY 1, 2, 3
    ON CONFLICT (holder_id, start_period, multiple)
    DO UPDATE SET points_cpts = holdings.points_cpts + excluded.points_cpts
), g AS (
    INSERT INTO group_points (start_period, multiple, stripe, points_cpts)
    SELECT * FROM {_bare("g", _GROUP)} ORDER BY 1, 2, 3
    ON CONFLICT (start_period, multiple, stripe)
    DO UPDATE SET points_cpts = group_points.points_cpts + excluded.points_cpts
), w AS (
    INSERT INTO earnings (party_id, period, stripe, amount_fen)
    SELECT * FROM {_bare("w", _EARNING)} ORDER BY 1, 2, 3
    ON CONFLICT (party_id, period, stripe)
    DO UPDATE SET amount_fen = earnings.amount_fen + excluded.amount_fen
), a AS (
    UPDATE consumers SET last_active_period = x.period
    FROM (SELECT DISTINCT * FROM {_unnest("a", _ACTIVE)} ORDER BY 1) AS x
    WHERE consumers.party_id = x.party_id
      AND (consumers.last_active_period IS NULL OR consumers.last_active_period <> x.period)
    RETURNING x.period, x.stripe
), pt AS (
    INSERT INTO party_period_totals (party_id, period, name, stripe, value)
    SELECT * FROM {_unnest("t", _TOTAL)} ORDER BY party_id, period, name, stripe
    ON CONFLICT (party_id, period, name, stripe)
    DO UPDATE SET value = party_period_totals.value + excluded.value
), c AS (
    INSERT INTO period_counters (period, name, stripe, value)
    SELECT period, name, stripe, sum(value) FROM (
        SELECT * FROM {_unnest("c", _COUNTER)}
        UNION ALL
        SELECT a.period, 'active_consumers', a.stripe, 1 FROM a
    ) AS x
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (period, name, stripe) DO UPDATE SET value = period_counters.value + excluded.value
), ev AS (
    {outbox_insert("v", ("o", "idem_key"))}
)
SELECT o.idem_key, o.id, (SELECT seq FROM periods WHERE status = 'open'), {TAKEN},
    (SELECT count(*) FROM (SELECT FROM orders AS x
        WHERE x.consumer_id = o.consumer_id AND x.period = o.period
        LIMIT %(at_most)s::bigint) AS n),
    (SELECT count(*) FROM (SELECT FROM orders AS x
        WHERE x.consumer_id = o.consumer_id AND x.period = o.period
          AND x.merchant_id = o.merchant_id
        LIMIT %(at_most_pair)s::bigint) AS n)
FROM o
"""
_SQL = " ".join(_SQL.split())
# longer than psycopg's conversion cache takes (4,096 characters, 50 parameters): sent through
# pg_raw.fetch_all, which converts its placeholders once


def insert_orders_pg(conn: Connection, batch: Sequence[OrderRows], stripe: int,
                     events: Sequence[Recorded] = (),
                     caps: tuple[int | None, int | None] = (None, None)) -> Written:
    """Write every order of ``batch`` and ``events`` in their order: a slotted one gets the id
    of the order whose idempotency key its slot names.

    Returns the new order ids in the batch's order, the period open when the statement
    started (the caller checks it is the orders' period) and, per order, the velocity counts
    ``caps`` asks for (``services.velocity``): the orders of its consumer in its period that
    the statement's snapshot holds (those committed before it started, without the batch's),
    in all and at its merchant, each counted up to its cap (0, reading nothing, where None).

    A taking from a must-stay-positive balance that finds no row or too little raises
    :class:`InsufficientBalance` (the caller rolls back what the statement wrote).

    Every striped row the batch adds to (balances, group points, counters) is in ``stripe``.
    Balance, holding, group and counter rows of the whole batch are merged per key, as the
    statement-by-statement path would leave them.
    """
    orders = {f"r{i}": array_literal(rows.order[c] for rows in batch)
              for i, (c, _) in enumerate(ORDER_COLUMNS)}
    orders[f"r{len(ORDER_COLUMNS)}"] = int_array(len(rows.entry.postings) for rows in batch)
    orders[f"r{len(ORDER_COLUMNS) + 1}"] = int_array(range(len(batch)))
    keys: list[str] = []
    numbers: list[int] = []
    accounts: list[int] = []
    assets: list[str] = []
    amounts: list[int] = []
    deltas: dict[tuple[int, str, int], int] = defaultdict(int)
    holdings: dict[tuple[int, int, str], int] = defaultdict(int)
    groups: dict[tuple[int, str, int], int] = defaultdict(int)
    counters: dict[tuple[int, str, int], int] = defaultdict(int)
    earned: dict[tuple[int, int, int], int] = defaultdict(int)
    active: list[tuple[int, int, int]] = []
    for rows in batch:
        key, period = rows.order["idem_key"], rows.order["period"]
        for leg, p in enumerate(rows.entry.postings):
            asset = _ASSET[p.asset]
            keys.append(key)
            numbers.append(leg)
            accounts.append(p.account)
            assets.append(asset)
            amounts.append(p.amount)
            deltas[(p.account, asset, stripe_for(p.account, stripe))] += p.amount
        for holder, start, multiple, pts in rows.holdings:
            holdings[(holder, start, multiple)] += pts
        for start, multiple, pts in rows.group_points:
            groups[(start, multiple, stripe)] += pts
        for name, value in rows.counters.items():
            if value:
                counters[(period, name, stripe)] += value
        for party, fen in rows.earnings:
            earned[(party, period, stripe)] += fen
        if rows.activate:
            active.append((rows.order["consumer_id"], period, stripe))
    balance_rows = sorted((a, s, st, v, _KINDS[a % ACCOUNTS_PER_PARTY].nonnegative)
                          for (a, s, st), v in deltas.items() if v)
    params: dict[str, str | int] = {
        **orders,
        "l0": array_literal(keys), "l1": int_array(numbers), "l2": int_array(accounts),
        "l3": array_literal(assets), "l4": int_array(amounts),
        **column_arrays("b", balance_rows, len(_BALANCE)),
        **column_arrays("h", [(*k, v) for k, v in holdings.items() if v], len(_HOLDING)),
        **column_arrays("g", [(*k, v) for k, v in groups.items() if v], len(_GROUP)),
        **column_arrays("c", [(*k, v) for k, v in counters.items() if v], len(_COUNTER)),
        **column_arrays("w", [(*k, v) for k, v in earned.items() if v], len(_EARNING)),
        **column_arrays("a", active, len(_ACTIVE)),
        **column_arrays("t", party_total_rows(batch, stripe), len(_TOTAL)),
        **outbox_params("v", events),
    }
    params["at_most"], params["at_most_pair"] = (0 if cap is None else int(cap) for cap in caps)
    written = {str(row[0]): row for row in fetch_all(conn, _SQL, params)}
    found = [written[rows.order["idem_key"]] for rows in batch]
    takings = [r for r in balance_rows if is_taking(r)]
    if takings:  # every row carries the takings done, after the open period
        check_taken(found[0][3], takings)
    return Written([int(row[1]) for row in found], int(found[0][2]),
                   [(int(row[4]), int(row[5])) for row in found])


def write_orders(conn: Connection, batch: Sequence[OrderRows], events: Sequence[Recorded],
                 caps: tuple[int | None, int | None] | None,
                 refuse: Callable[[OrderRows, Counts], None]) -> Written:
    """See ``OrderStore.write``: the one statement of :func:`insert_orders_pg` on PostgreSQL
    (``refuse`` asked after it, with the counts it read), statement by statement on SQLite
    (``refuse`` asked before each order is written, with counts read then), the events written
    after the orders, their slots filled.
    """
    if locks.postgres(conn):
        written = insert_orders_pg(conn, batch, _stripes.randrange(t.STRIPES), events,
                                   caps if caps is not None else (None, None))
        if caps is not None and all(r.order["period"] == written.open_seq for r in batch):
            # counts of a period that closed meanwhile say nothing of the open one: the caller's
            # period check refuses the write so that it runs again, then counted anew
            for rows, counts in zip(batch, written.counts, strict=True):
                refuse(rows, counts)
        return written
    ids: dict[str, int] = {}
    for rows in batch:
        order, period = rows.order, rows.order["period"]
        if caps is not None:
            refuse(rows, velocity_counts(conn, order["consumer_id"], order["merchant_id"],
                                         period, caps))
        order_id = int(conn.execute(insert(t.orders).returning(t.orders.c.id), order).scalar_one())
        ids[order["idem_key"]] = order_id
        post(conn, replace(rows.entry, memo=f"order {order_id}"), period, order_id,
             along=[sales_totals(rows, _stripes.randrange(t.STRIPES))])
        upsert_add(conn, t.holdings, ("holder_id", "start_period", "multiple"), ("points_cpts",),
                   list(rows.holdings))
        stripe = _stripes.randrange(t.STRIPES)
        upsert_add(conn, t.group_points, ("start_period", "multiple", "stripe"), ("points_cpts",),
                   [(s, m, stripe, p) for s, m, p in rows.group_points])
        earnings_rows(dict(rows.earnings), period, stripe).write(conn)
        counters = rows.counters
        if rows.activate:  # the consumer's first order of the period counts it active, once
            became_active = conn.execute(
                update(t.consumers).where(
                    t.consumers.c.party_id == order["consumer_id"],
                    (t.consumers.c.last_active_period.is_(None))
                    | (t.consumers.c.last_active_period != period))
                .values(last_active_period=period)).rowcount
            if became_active:
                counters = {**counters, "active_consumers":
                            counters.get("active_consumers", 0) + became_active}
        add_counters(conn, period, counters)
    add_events(conn, [filled(r, ids) for r in events])
    return Written([ids[r.order["idem_key"]] for r in batch],
                   batch[0].order["period"] if batch else 0, [(0, 0)] * len(batch))
