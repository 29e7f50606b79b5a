"""An order's first step on SQL: the books lock (shared), its key, the open period, its context
and the consumer's first-order claim (:meth:`SqlOrderStore.begin`).

PostgreSQL does it in one round trip (:data:`_BEGIN_PG`); SQLite, which has one writer at a
time, one query per step after :func:`locks.lock_books`. Both return the same
:class:`~gongsheng.domain.orders.OrderStart`, or the stored row of a used key (a replay).

PostgreSQL: every read of the step, the books lock and the first-order claim in one statement.
In READ COMMITTED a statement reads the snapshot taken when it started, so the period it reads
may predate a close that held the lock while the statement waited for it. The order's write
checks that: its own statement starts after the lock is held and returns the period open then;
if that is not the period the order was computed for, the transaction is run again
(``RetryTransaction``). Closes are rare; the retry almost never happens. PostgreSQL evaluates
the lock (first in the select list) before the claim's UPDATE runs, so the consumer row is not
held while the order waits behind a close; SQL does not promise that order, but if it changed
the cost would be that wait, not a wrong result. The consumer's velocity lock comes second,
taken only when the open period's policy version is one this engine has read and that caps
velocity (``pg_advisory_xact_lock`` is strict: a NULL key takes nothing); the counts it guards
are read by the order's write, a later statement (``services.velocity``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from gongsheng.adapters import locks
from gongsheng.adapters import tables as t
from gongsheng.adapters.period_store import open_period
from gongsheng.adapters.pg_arrays import any_of, array_literal, int_array
from gongsheng.adapters.policy_store import read_policies
from gongsheng.adapters.risk_store import VELOCITY_LOCKS, velocity_key
from gongsheng.domain.errors import GongshengError, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.orders import OrderContext, OrderStart
from gongsheng.domain.periods import OpenPeriod
from gongsheng.domain.waterfall import Beneficiaries

StoredOrder = Mapping[str, Any]
"""A stored ``orders`` row, by column."""


def _frozen(party: Any) -> Any:
    """Whether ``party`` (a column) is frozen now: an indexed look-up of its open freeze."""
    f = t.party_freezes.c
    return exists().where(f.party_id == party, f.unfrozen_at.is_(None))


_HOME = aliased(t.merchants)  # built once: aliasing a table per call costs ~0.7 ms


def _context_query(consumer_ids: Any, merchant_id: Any) -> Any:
    c, m, p, pr = t.consumers, t.merchants, t.partners, t.promoters
    home = _HOME
    return (
        select(m.c.channel, m.c.region_id, m.c.concession_rate, m.c.bm_id, m.c.bm_rate,
               m.c.promoter_id, m.c.accepts_vouchers, m.c.active, p.c.party_id,
               c.c.referrer_id, c.c.home_merchant_id, c.c.first_order_key,
               c.c.last_active_period, home.c.party_id, m.c.party_id, c.c.party_id,
               _frozen(m.c.party_id).label("merchant_frozen"),
               _frozen(c.c.party_id).label("consumer_frozen"))
        .select_from(m.outerjoin(p, (p.c.region_id == m.c.region_id) & p.c.active))
        .join(c, consumer_ids(c.c.party_id))
        .outerjoin(home, home.c.party_id == c.c.home_merchant_id)
        .outerjoin(pr, pr.c.party_id == m.c.promoter_id)
        .where(merchant_id(m.c.party_id))
    )


_ONE_CONTEXT = _context_query(lambda col: col == bindparam("consumer_id"),
                              lambda col: col == bindparam("merchant_id"))


def _merchants(ids: Callable[[Any], Any]) -> Select[Any]:
    return (
        select(t.merchants.c.channel, t.merchants.c.region_id, t.merchants.c.concession_rate,
               t.merchants.c.bm_id, t.merchants.c.bm_rate, t.merchants.c.promoter_id,
               t.merchants.c.accepts_vouchers, t.merchants.c.active, t.partners.c.party_id,
               _frozen(t.merchants.c.party_id), t.merchants.c.party_id)
        .select_from(t.merchants.outerjoin(
            t.partners, (t.partners.c.region_id == t.merchants.c.region_id) & t.partners.c.active))
        .where(ids(t.merchants.c.party_id)))


def _consumers(ids: Callable[[Any], Any]) -> Select[Any]:
    return (
        select(t.consumers.c.referrer_id, t.consumers.c.home_merchant_id,
               t.consumers.c.first_order_key, t.consumers.c.last_active_period,
               _frozen(t.consumers.c.party_id), t.consumers.c.party_id)
        .where(ids(t.consumers.c.party_id)))


def _expanding(col: Any) -> Any:
    return col.in_(bindparam("ids", expanding=True))


_MERCHANTS = {False: _merchants(_expanding), True: _merchants(any_of)}
_CONSUMERS = {False: _consumers(_expanding), True: _consumers(any_of)}
"""The merchants' and the consumers' halves of many orders' contexts, by ``ids``: an expanding
``IN`` (SQLite), one array parameter (PostgreSQL, :func:`pg_arrays.any_of`)."""


def _context_of(row: Any, merchant_id: int) -> OrderContext:
    (channel, region, rate, bm_id, bm_rate, promoter, accepts, active, partner, referrer,
     home_id, first_key, last_active, _, _, _, merchant_frozen, consumer_frozen) = row
    if not active:
        raise InvalidInput(f"merchant {merchant_id} is not active")
    if merchant_frozen:
        raise PartyFrozen(f"merchant {merchant_id} is frozen for review: it cannot take orders "
                          "until an administrator unfreezes it")
    return OrderContext(
        merchant_channel=channel, merchant_region=int(region), merchant_rate=Decimal(rate),
        contract_rate=Decimal(bm_rate) if bm_rate is not None else Decimal(0),
        accepts_vouchers=bool(accepts),
        beneficiaries=Beneficiaries(
            platform=PLATFORM_PARTY_ID, region_partner=partner, signing_promoter=promoter,
            bound_bm=bm_id,
            home_merchant=home_id if home_id is not None and home_id != merchant_id else None),
        referrer_id=referrer, first_order_pending=first_key is None,
        last_active_period=last_active, consumer_frozen=bool(consumer_frozen),
    )


def _missing(conn: Connection, consumer_id: int, merchant_id: int) -> NotFound:
    c = t.consumers
    known = conn.execute(select(c.c.party_id).where(c.c.party_id == consumer_id)).first()
    return NotFound(f"consumer {consumer_id} does not exist" if known is None
                    else f"merchant {merchant_id} does not exist")


def context(conn: Connection, consumer_id: int, merchant_id: int) -> OrderContext:
    """The order's context (refused: unknown party, inactive or frozen merchant)."""
    row = conn.execute(_ONE_CONTEXT, {"consumer_id": consumer_id, "merchant_id": merchant_id}).first()
    if row is None:
        raise _missing(conn, consumer_id, merchant_id)
    return _context_of(row, merchant_id)


def contexts(conn: Connection, pairs: Sequence[tuple[int, int]]
             ) -> dict[tuple[int, int], OrderContext | GongshengError]:
    """The context of each ``(consumer, merchant)`` pair in one query (an error where it has none)."""
    pg = locks.postgres(conn)

    def ids(values: set[int]) -> dict[str, Any]:
        return {"ids": int_array(sorted(values)) if pg else sorted(values)}

    merchants = {int(r[-1]): tuple(r) for r in conn.execute(
        _MERCHANTS[pg], ids({m for _, m in pairs}))}
    consumers = {int(r[-1]): tuple(r) for r in conn.execute(
        _CONSUMERS[pg], ids({c for c, _ in pairs}))}
    rows = {(c, m): (*merchants[m][:9], *consumers[c][:4], None, m, c, merchants[m][9],
                     consumers[c][4])
            for c, m in set(pairs) if c in consumers and m in merchants}
    out: dict[tuple[int, int], OrderContext | GongshengError] = {}
    for consumer, merchant in set(pairs):
        row = rows.get((consumer, merchant))
        try:
            out[(consumer, merchant)] = (_context_of(row, merchant) if row is not None
                                         else _missing(conn, consumer, merchant))
        except GongshengError as err:
            out[(consumer, merchant)] = err
    return out


def order_by_key(conn: Connection, key: str) -> StoredOrder | None:
    """The order stored under idempotency key ``key``."""
    row = conn.execute(select(t.orders).where(t.orders.c.idem_key == key)).first()
    return None if row is None else dict(row._mapping)


_CTX = _ONE_CONTEXT.subquery("ctx")
_VELOCITY_LOCK = func.pg_advisory_xact_lock(
    literal_column(str(VELOCITY_LOCKS)),
    case((t.periods.c.policy_version_id == any_(bindparam("capped", type_=ARRAY(BigInteger))),
          bindparam("velocity_key", type_=Integer))))
_CLAIM_ONE = (update(t.consumers)
              .where(t.consumers.c.party_id == bindparam("consumer_id"),
                     t.consumers.c.first_order_key.is_(None))
              .values(first_order_key=bindparam("key")))
"""Record ``key`` as the consumer's first order unless one is recorded (built once)."""
_CLAIM = (_CLAIM_ONE.where(~exists().where(t.orders.c.idem_key == bindparam("key")))  # no replay
          .returning(t.consumers.c.party_id).cte("claim"))
_BEGIN_PG = (
    select(func.pg_advisory_xact_lock_shared(literal_column(str(locks.BOOKS_LOCK))), _VELOCITY_LOCK,
           select(t.orders.c.id).where(t.orders.c.idem_key == bindparam("key")).scalar_subquery(),
           t.periods.c.seq, t.periods.c.policy_version_id, t.periods.c.starts_on,
           select(func.count()).select_from(_CLAIM).scalar_subquery(), *_CTX.c,
           func.set_config(literal_column("'plan_cache_mode'"), func.coalesce(
               bindparam("plan_mode", type_=String), func.current_setting("plan_cache_mode")),
               true()))
    .select_from(t.periods.outerjoin(_CTX, true()))
    .where(t.periods.c.status == "open"))
"""An order's first statement: the books' shared lock, the velocity lock where a cap is set,
the replay check, the open period, the first-order claim and the order's context.

It also sets ``plan_cache_mode`` (parameter ``plan_mode``; None leaves it as it is) for the
rest of the transaction: ``force_generic_plan`` for an order of its own, whose statements are
the same on every order and, once psycopg has prepared them (after a few uses on a connection),
are then planned once instead of on every order (about 1 ms of the server's CPU for the long
order statement, about a sixth of its share of an order). An order placed inside a batch (a
SAVEPOINT) leaves it: the setting would outlive the savepoint and plan the batch's own
statements, whose arrays' lengths a custom plan sees, generically."""


def _begin_pg(conn: Connection, consumer_id: int, merchant_id: int, key: str
              ) -> OrderStart | StoredOrder:
    capped = [v for v, p in read_policies(conn).items() if p.risk.caps_velocity]
    row = conn.execute(_BEGIN_PG, {
        "consumer_id": consumer_id, "merchant_id": merchant_id, "key": key, "capped": capped,
        "velocity_key": velocity_key(consumer_id),
        "plan_mode": None if conn.in_nested_transaction() else "force_generic_plan"}).first()
    if row is None:
        raise NotFound("the books have no open period (run a migration / open the books first)")
    period = OpenPeriod(int(row[3]), int(row[4]), str(row[5]))
    if row[2] is not None:  # the whole order row is read only for a replay
        stored = order_by_key(conn, key)
        assert stored is not None
        return stored
    ctx_row = tuple(row[7:-1])  # the last column is set_config's
    if ctx_row[14] is None:
        raise _missing(conn, consumer_id, merchant_id)
    ctx = _context_of(ctx_row, merchant_id)
    return OrderStart(period, ctx, bool(row[6]) and ctx.first_order_pending,
                      velocity_locked=period.policy_version_id in capped)


def _begin_steps(conn: Connection, consumer_id: int, merchant_id: int, key: str
                 ) -> OrderStart | StoredOrder:
    stored = order_by_key(conn, key)
    if stored is not None:
        return stored
    locks.lock_books(conn)
    period = open_period(conn)
    ctx = context(conn, consumer_id, merchant_id)
    first = ctx.first_order_pending and conn.execute(
        _CLAIM_ONE, {"consumer_id": consumer_id, "key": key}).rowcount == 1
    return OrderStart(period, ctx, first, velocity_locked=True)  # one writer: no lock to take


def begin(conn: Connection, consumer_id: int, merchant_id: int, key: str) -> OrderStart | StoredOrder:
    """See ``OrderStore.begin``: one round trip on PostgreSQL, one query per step on SQLite."""
    if locks.postgres(conn):
        return _begin_pg(conn, consumer_id, merchant_id, key)
    return _begin_steps(conn, consumer_id, merchant_id, key)


def claim_first_orders(conn: Connection, keys: Mapping[int, str]) -> set[int]:
    """Record each consumer's first order key (``keys``: by consumer) where none is recorded;
    the consumers whose first order was recorded (one statement)."""
    if not keys:
        return set()
    ordered = dict(sorted(keys.items()))
    if locks.postgres(conn):
        return {int(r[0]) for r in conn.exec_driver_sql(_CLAIM_MANY_PG, {
            "ids": int_array(ordered), "keys": array_literal(ordered.values())})}
    c = t.consumers
    return {int(r[0]) for r in conn.execute(
        update(c).where(c.c.party_id.in_(list(ordered)), c.c.first_order_key.is_(None))
        .values(first_order_key=case(ordered, value=c.c.party_id)).returning(c.c.party_id))}


_CLAIM_MANY_PG = (
    "UPDATE consumers SET first_order_key = x.key"
    " FROM unnest(%(ids)s::bigint[], %(keys)s::text[]) AS x(party_id, key)"
    " WHERE consumers.party_id = x.party_id AND consumers.first_order_key IS NULL"
    " RETURNING consumers.party_id")
