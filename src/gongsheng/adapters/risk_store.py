"""The shared-identifier graph (共用支付工具/设备), its ring checks and the velocity count, in SQL.

Parties are the graph's nodes; an edge joins a party to each instrument (``payment_ref``) or
device (``device_id``) it used (``risk_identifiers``, one row per pair). Two parties are
*connected* when a chain of shared identifiers joins them; ``risk_components`` keeps, for every
party that has an identifier, the root of its component (a union-find kept flat: every member
names its root directly, and the root's row holds the component's size).

Invariants:

- all holders of one identifier are in one component;
- ``root_id`` of a member is a party whose own ``root_id`` is itself; ``size`` on the root's row is
  the number of rows naming it.

Two writers keep it. A party's registered identifiers (``rings.register_identifiers``) are added
at once: a new pair takes a lock on its identifier on PostgreSQL (so two parties adding the
same identifier at once see each other), looks up one other holder and, if there is one, joins
the components (:func:`union`: all but the largest are relabelled, union by size, so a party is
relabelled at most log2(n) times over its life; the roots' rows are locked first). A period's
close adds its orders' pairs at once (:func:`feed_period`: two ``INSERT .. SELECT .. ON
CONFLICT DO NOTHING`` over ``ix_orders_period``), then joins the components that an identifier
of the period now spans (:func:`split_identifiers`, one pass over the period's identifiers and
their holders' roots; :func:`union` of each one's roots, rarely). The close holds the books
alone and a registration takes them shared, so the two never run at once. Orders themselves
never touch the graph.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import union as sql_union
from sqlalchemy.dialects import postgresql, sqlite

from gongsheng.adapters import risk_queries as q
from gongsheng.adapters import tables as t

IDENTIFIER_LOCKS = 3
"""Class (first key of PostgreSQL's two-key advisory locks) of the per-identifier locks."""
VELOCITY_LOCKS = 4
"""Class of the per-consumer locks an order takes when the policy caps its velocity
(``services.velocity``)."""

Identifier = tuple[str, str]
"""``(kind, value)``: kind ``payment`` or ``device``."""


def _insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


_ADD = {name: (ins(t.risk_identifiers).on_conflict_do_nothing()
               .returning(t.risk_identifiers.c.kind, t.risk_identifiers.c.value))
        for name, ins in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
"""Built once per dialect: building and compiling an insert per order costs about a millisecond."""


def add_identifiers(conn: Connection, party_id: int, identifiers: Sequence[Identifier]
                    ) -> list[Identifier]:
    """Record that ``party_id`` used each identifier; the pairs that are new."""
    new = []
    for kind, value in identifiers:  # one or two per order
        row = conn.execute(_ADD[conn.dialect.name],
                           {"kind": kind, "value": value, "party_id": party_id}).first()
        if row is not None:
            new.append((str(row[0]), str(row[1])))
    return new


def lock_identifiers(conn: Connection, identifiers: Iterable[Identifier]) -> None:
    """PostgreSQL: hold each identifier's lock until the transaction ends (in one order)."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({zlib.crc32(f"{k}:{v}".encode()) % 2**31 for k, v in identifiers})
    if keys:
        conn.exec_driver_sql("SELECT " + ", ".join(
            f"pg_advisory_xact_lock({IDENTIFIER_LOCKS}, {k})" for k in keys))


_OTHER = (select(t.risk_identifiers.c.party_id)
          .where(t.risk_identifiers.c.kind == bindparam("kind"),
                 t.risk_identifiers.c.value == bindparam("value"),
                 t.risk_identifiers.c.party_id != bindparam("party"))
          .limit(1))


def other_holder(conn: Connection, identifier: Identifier, party_id: int) -> int | None:
    """Another party that used ``identifier`` (any: they are all in one component), or None."""
    found = conn.execute(_OTHER, {"kind": identifier[0], "value": identifier[1],
                                  "party": party_id}).scalar()
    return None if found is None else int(found)


_NODE = {name: ins(t.risk_components).on_conflict_do_nothing()
         for name, ins in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}


def ensure_node(conn: Connection, party_id: int) -> None:
    """Give ``party_id`` a component of its own if it has none."""
    conn.execute(_NODE[conn.dialect.name], {"party_id": party_id, "root_id": party_id, "size": 1})


def roots(conn: Connection, party_ids: Iterable[int]) -> dict[int, int]:
    """The component root of each party that has one."""
    rc = t.risk_components
    ids = sorted(set(party_ids))
    if not ids:
        return {}
    return {int(p): int(r) for p, r in conn.execute(
        select(rc.c.party_id, rc.c.root_id).where(rc.c.party_id.in_(ids)))}


def union(conn: Connection, parties: Sequence[int]) -> tuple[int, bool]:
    """Join the components of ``parties`` (all have nodes) into one; ``(root, whether any were
    apart)``. The largest component keeps its root (ties: the lowest root); every other is
    relabelled to it, so a relabelled party's component at least doubles. On PostgreSQL the
    roots' rows are locked first (a concurrent union that moved one makes it read again)."""
    rc = t.risk_components
    while True:
        found = roots(conn, parties)
        apart = sorted({found[p] for p in parties})
        if len(apart) == 1:
            return apart[0], False
        query = select(rc.c.party_id, rc.c.root_id, rc.c.size).where(
            rc.c.party_id.in_(apart)).order_by(rc.c.party_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = {int(p): (int(r), int(s)) for p, r, s in conn.execute(query)}
        if any(rows[r][0] != r for r in apart):  # a concurrent union moved one: read again
            continue
        big = max(apart, key=lambda r: (rows[r][1], -r))
        conn.execute(update(rc).where(rc.c.root_id.in_([r for r in apart if r != big]))
                     .values(root_id=big))
        conn.execute(update(rc).where(rc.c.party_id == big)
                     .values(size=sum(rows[r][1] for r in apart)))
        return big, True


# The graph's feed and the ring checks at a period's close: set-based statements over the
# closing period's orders (``ix_orders_period``), each order's parties probed by key. Built once.
_O, _RI, _RC = t.orders, t.risk_identifiers, t.risk_components
_PERIOD: Any = bindparam("period")
_HAS_IDS = or_(_O.c.payment_ref.is_not(None), _O.c.device_id.is_not(None))
_BY_KIND = (("payment", _O.c.payment_ref), ("device", _O.c.device_id))


def _kind(kind: str) -> Any:
    """The kind written into the statement (a constant, not a bound value)."""
    return literal_column(f"'{kind}'", String)


def _feeds(ins: Any) -> tuple[Any, ...]:
    pairs = [ins(_RI).from_select(["kind", "value", "party_id"], select(
        _kind(kind), column, _O.c.consumer_id).distinct()
        .where(_O.c.period == _PERIOD, column.is_not(None))).on_conflict_do_nothing()
        for kind, column in _BY_KIND]
    nodes = ins(_RC).from_select(["party_id", "root_id", "size"], select(
        _O.c.consumer_id, _O.c.consumer_id.label("root_id"), literal_column("1", Integer))
        .distinct().where(_O.c.period == _PERIOD, _HAS_IDS)).on_conflict_do_nothing()
    return (*pairs, nodes)


_FEED = {"postgresql": _feeds(postgresql.insert), "sqlite": _feeds(sqlite.insert)}


def feed_period(conn: Connection, period: int) -> None:
    """Add the edges of ``period``'s orders (each order's consumer to each identifier it
    carries; known pairs add nothing) and a node, its own component, for each of their
    consumers that has none. The components the new edges connect are joined afterwards
    (:func:`split_identifiers`, then :func:`union` of each one's roots)."""
    for statement in _FEED[conn.dialect.name]:
        conn.execute(statement, {"period": period})


_IDS = sql_union(*(select(_kind(kind).label("kind"), column.label("value"))
               .where(_O.c.period == _PERIOD, column.is_not(None))
               for kind, column in _BY_KIND)).subquery("ids")
_HELD = (select(_RI.c.kind, _RI.c.value, _RC.c.root_id).distinct()
         .select_from(_IDS.join(_RI, (_RI.c.kind == _IDS.c.kind) & (_RI.c.value == _IDS.c.value))
                      .join(_RC, _RC.c.party_id == _RI.c.party_id))
         .subquery("held"))
_COUNTED = select(_HELD, func.count().over(partition_by=(_HELD.c.kind, _HELD.c.value))
                  .label("roots")).subquery("counted")
_SPLIT = (select(_COUNTED.c.kind, _COUNTED.c.value, _COUNTED.c.root_id)
          .where(_COUNTED.c.roots > 1)
          .order_by(_COUNTED.c.kind, _COUNTED.c.value, _COUNTED.c.root_id))
"""Each (identifier, root) pair of the period's identifiers, kept where the identifier has more
than one root: one pass, the roots counted by a window over the pairs. (Not a self-join of the
pairs on their grouped keys: without statistics on freshly filled tables PostgreSQL estimated
one pair and ran the grouping once per pair, quadratic in the period's identifiers.)"""


def split_identifiers(conn: Connection, period: int) -> list[tuple[int, ...]]:
    """For each identifier carried by an order of ``period`` whose holders lie in more than one
    component, the roots of those components (the ones :func:`union` must join). One statement:
    the period's identifiers joined to their holders (``ix_risk_identifiers_edge``) and roots,
    each identifier's roots counted by a window (:data:`_SPLIT`)."""
    found: dict[tuple[str, str], list[int]] = {}
    for kind, value, root in conn.execute(_SPLIT, {"period": period}):
        found.setdefault((str(kind), str(value)), []).append(int(root))
    return [tuple(roots) for roots in found.values()]


_CONSUMER = _RC.alias("consumer_node")
_OTHER_NODE = _RC.alias("other_node")
_ROOT_NODE = _RC.alias("root_node")
_BY_CONSUMER = _O.join(_CONSUMER, _CONSUMER.c.party_id == _O.c.consumer_id)
_CONNECTED_TO_MERCHANT = (
    select(_O.c.merchant_id, _O.c.consumer_id, _O.c.id)
    .select_from(_BY_CONSUMER.join(_OTHER_NODE, _OTHER_NODE.c.party_id == _O.c.merchant_id))
    .where(_O.c.period == _PERIOD, _HAS_IDS, _OTHER_NODE.c.root_id == _CONSUMER.c.root_id)
    .order_by(_O.c.merchant_id, _O.c.consumer_id, _O.c.id))
_CONNECTED_TO_REFERRER = (
    select(t.consumers.c.referrer_id, _O.c.consumer_id, _O.c.id)
    .select_from(_BY_CONSUMER.join(t.consumers, t.consumers.c.party_id == _O.c.consumer_id)
                 .join(_OTHER_NODE, _OTHER_NODE.c.party_id == t.consumers.c.referrer_id))
    .where(_O.c.period == _PERIOD, _HAS_IDS, _OTHER_NODE.c.root_id == _CONSUMER.c.root_id)
    .order_by(t.consumers.c.referrer_id, _O.c.consumer_id, _O.c.id))
_RING_CANDIDATES = (
    select(_O.c.merchant_id, _CONSUMER.c.root_id).distinct()
    .select_from(_BY_CONSUMER.join(_ROOT_NODE, _ROOT_NODE.c.party_id == _CONSUMER.c.root_id))
    .where(_O.c.period == _PERIOD, _HAS_IDS, _ROOT_NODE.c.size >= bindparam("ring_size"))
    .order_by(_O.c.merchant_id, _CONSUMER.c.root_id))
_RING_BUYERS = (
    select(_O.c.consumer_id).select_from(_RC.join(_O, _O.c.consumer_id == _RC.c.party_id))
    .where(_RC.c.root_id == bindparam("root"), _O.c.period == _PERIOD,
           _O.c.merchant_id == bindparam("merchant"))
    .group_by(_O.c.consumer_id).order_by(_O.c.consumer_id).limit(bindparam("limit")))
_BUYERS_ORDERS = (
    select(_O.c.id).where(_O.c.consumer_id.in_(bindparam("buyers", expanding=True)),
                          _O.c.period == _PERIOD, _O.c.merchant_id == bindparam("merchant"))
    .order_by(_O.c.id))

ConnectedOrder = tuple[int, int, int]
"""``(party, consumer, order)``: an order of the consumer, connected to the party."""


def orders_connected_to_merchant(conn: Connection, period: int) -> list[ConnectedOrder]:
    """``(merchant, consumer, order)`` for each order of ``period`` carrying an identifier
    whose consumer is in its merchant's component."""
    return [(int(m), int(c), int(o)) for m, c, o in
            conn.execute(_CONNECTED_TO_MERCHANT, {"period": period})]


def orders_connected_to_referrer(conn: Connection, period: int) -> list[ConnectedOrder]:
    """``(referrer, consumer, order)`` for each order of ``period`` carrying an identifier
    whose consumer is in its referrer's component."""
    return [(int(r), int(c), int(o)) for r, c, o in
            conn.execute(_CONNECTED_TO_REFERRER, {"period": period})]


def ring_candidates(conn: Connection, period: int, ring_size: int) -> list[tuple[int, int]]:
    """``(merchant, root)``: an order of ``period`` carrying an identifier, at ``merchant``, by
    a consumer of the component at ``root``, which has at least ``ring_size`` members."""
    return [(int(m), int(r)) for m, r in
            conn.execute(_RING_CANDIDATES, {"period": period, "ring_size": ring_size})]


def ring_buyers(conn: Connection, root: int, merchant_id: int, period: int,
                limit: int) -> tuple[list[int], list[int]]:
    """Up to ``limit`` consumers of the component at ``root`` with an order at ``merchant_id``
    in ``period`` (``ix_risk_components_root_id``, ``ix_orders_consumer_period``), and those
    orders."""
    buyers = [int(c) for c in conn.execute(_RING_BUYERS, {
        "root": root, "period": period, "merchant": merchant_id, "limit": limit}).scalars()]
    if not buyers:
        return [], []
    return buyers, [int(o) for o in conn.execute(_BUYERS_ORDERS, {
        "buyers": buyers, "period": period, "merchant": merchant_id}).scalars()]


def velocity_key(consumer_id: int) -> int:
    """The second key of the consumer's velocity lock (its class: :data:`VELOCITY_LOCKS`)."""
    return int(consumer_id) % 2**31


def lock_velocity(conn: Connection, consumer_id: int) -> None:
    """PostgreSQL: hold the consumer's velocity lock until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT pg_advisory_xact_lock({VELOCITY_LOCKS}, {velocity_key(consumer_id)})")


def velocity_counts(conn: Connection, consumer_id: int, merchant_id: int, period: int,
                    caps: tuple[int | None, int | None]) -> tuple[int, int]:
    """The consumer's orders of ``period``, and of them at ``merchant_id``, each counted up to
    its cap (``(per consumer, per pair)``; 0 where no cap), each in a statement of its own (on
    PostgreSQL, read after the consumer's velocity lock is held, they see every order committed
    before it)."""
    per_consumer, per_pair = caps
    return (orders_in_period(conn, consumer_id, period, at_most=per_consumer)
            if per_consumer is not None else 0,
            orders_in_period(conn, consumer_id, period, merchant_id=merchant_id,
                             at_most=per_pair) if per_pair is not None else 0)


def _count(pair: bool) -> Any:
    o = t.orders
    where = [o.c.consumer_id == bindparam("consumer"), o.c.period == bindparam("period")]
    if pair:
        where.append(o.c.merchant_id == bindparam("merchant"))
    inner = select(o.c.id).where(*where).limit(bindparam("at_most")).subquery()
    return select(func.count()).select_from(inner)


_COUNTS = {False: _count(False), True: _count(True)}


def orders_in_period(conn: Connection, consumer_id: int, period: int, *,
                     merchant_id: int | None = None, at_most: int) -> int:
    """The consumer's orders of ``period`` (at one merchant if given), counted up to
    ``at_most`` only: the read stops there (``ix_orders_consumer_period``)."""
    return int(conn.execute(_COUNTS[merchant_id is not None], {
        "consumer": consumer_id, "period": period, "merchant": merchant_id,
        "at_most": at_most}).scalar_one())


class SqlRiskStore:
    """:class:`~gongsheng.services.ports.risk.RiskStore` on a connection: the identifier graph
    here and the detectors' reads (``adapters.risk_queries``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_identifiers(self, party_id: int, identifiers: Sequence[Identifier]
                        ) -> list[Identifier]:
        return add_identifiers(self.conn, party_id, identifiers)

    def lock_identifiers(self, identifiers: Iterable[Identifier]) -> None:
        lock_identifiers(self.conn, identifiers)

    def other_holder(self, identifier: Identifier, party_id: int) -> int | None:
        return other_holder(self.conn, identifier, party_id)

    def ensure_node(self, party_id: int) -> None:
        ensure_node(self.conn, party_id)

    def union(self, parties: Sequence[int]) -> tuple[int, bool]:
        return union(self.conn, parties)

    def feed_period(self, period: int) -> None:
        feed_period(self.conn, period)

    def split_identifiers(self, period: int) -> list[tuple[int, ...]]:
        return split_identifiers(self.conn, period)

    def orders_connected_to_merchant(self, period: int) -> list[ConnectedOrder]:
        return orders_connected_to_merchant(self.conn, period)

    def orders_connected_to_referrer(self, period: int) -> list[ConnectedOrder]:
        return orders_connected_to_referrer(self.conn, period)

    def ring_candidates(self, period: int, ring_size: int) -> list[tuple[int, int]]:
        return ring_candidates(self.conn, period, ring_size)

    def ring_buyers(self, root: int, merchant_id: int, period: int,
                    limit: int) -> tuple[list[int], list[int]]:
        return ring_buyers(self.conn, root, merchant_id, period, limit)

    def order_bursts(self, period: int, above: int, limit: int) -> list[tuple[int, int]]:
        return q.order_bursts(self.conn, period, above, limit)

    def single_merchant_buyers(self, period: int, at_least: int,
                               limit: int) -> list[tuple[int, int, int]]:
        return q.single_merchant_buyers(self.conn, period, at_least, limit)

    def idle_referees(self, at_least: int, limit: int) -> list[tuple[int, int]]:
        return q.idle_referees(self.conn, at_least, limit)

    def refunds_after_release(self, since_period: int,
                              limit: int) -> list[tuple[int, int, int]]:
        return q.refunds_after_release(self.conn, since_period, limit)

    def merchant_purchases(self, period: int) -> list[tuple[int, int]]:
        return q.merchant_purchases(self.conn, period)

    def last_close_figures(self) -> dict[str, Any]:
        p = t.periods
        row = self.conn.execute(select(p.c.figures).where(p.c.status == "closed")
                                .order_by(p.c.seq.desc()).limit(1)).scalar()
        return dict(json.loads(row)) if row else {}
