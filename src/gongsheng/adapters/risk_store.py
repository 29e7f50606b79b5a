"""The shared-identifier graph (共用支付工具/设备) and the velocity count, in SQL.

Parties are the graph's nodes; an edge joins a party to each instrument (``payment_ref``) or
device (``device_id``) it used (``risk_identifiers``, one row per pair). Two parties are
*connected* when a chain of shared identifiers joins them; ``risk_components`` keeps, for every
party that has an identifier, the root of its component (a union-find kept flat: every member
names its root directly, and the root's row holds the component's size).

Invariants:

- all holders of one identifier are in one component;
- ``root_id`` of a member is a party whose own ``root_id`` is itself; ``size`` on the root's row is
  the number of rows naming it.

Each step is an indexed lookup: an order whose identifiers are known already costs one
``INSERT .. ON CONFLICT DO NOTHING``; a new pair one lookup of another holder and, if there is
one, a union that relabels the smaller component (union by size: a party is relabelled at most
log2(n) times over its life). On PostgreSQL a new pair takes a lock on its identifier (so two
parties adding the same identifier at once see each other) and a union locks both roots' rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gongsheng.adapters import tables as t
from gongsheng.adapters.pg_arrays import array_literal, int_array

IDENTIFIER_LOCKS = 3
"""Class (first key of PostgreSQL's two-key advisory locks) of the per-identifier locks."""
VELOCITY_LOCKS = 4
"""Class of the per-consumer locks an order takes when the policy caps its velocity."""

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


def union(conn: Connection, a: int, b: int) -> tuple[int, bool]:
    """Join the components of ``a`` and ``b`` (both have nodes); ``(root, whether they were
    apart)``. The smaller component is relabelled to the larger one's root."""
    rc = t.risk_components
    while True:
        found = roots(conn, (a, b))
        ra, rb = found[a], found[b]
        if ra == rb:
            return ra, False
        query = select(rc.c.party_id, rc.c.root_id, rc.c.size).where(
            rc.c.party_id.in_(sorted((ra, rb)))).order_by(rc.c.party_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = {int(p): (int(r), int(s)) for p, r, s in conn.execute(query)}
        if rows[ra][0] != ra or rows[rb][0] != rb:  # a concurrent union moved one: read again
            continue
        big, small = (ra, rb) if rows[ra][1] >= rows[rb][1] else (rb, ra)
        conn.execute(update(rc).where(rc.c.root_id == small).values(root_id=big))
        conn.execute(update(rc).where(rc.c.party_id == big)
                     .values(size=rows[ra][1] + rows[rb][1]))
        return big, True


_ROOT_ROW = t.risk_components.alias("root_row")
_ROOTS = (select(t.risk_components.c.party_id, t.risk_components.c.root_id, _ROOT_ROW.c.size)
          .select_from(t.risk_components.join(
              _ROOT_ROW, _ROOT_ROW.c.party_id == t.risk_components.c.root_id))
          .where(t.risk_components.c.party_id.in_(bindparam("ids", expanding=True))))
"""Built once: an alias made per call would miss the compiled-statement cache."""

Roots = dict[int, tuple[int, int]]
"""``party -> (root, size of its component)`` for the parties that have a node."""


def roots_and_sizes(conn: Connection, party_ids: Sequence[int]) -> Roots:
    """The root and component size of each of ``party_ids`` that has a node."""
    return {int(p): (int(r), int(s)) for p, r, s in conn.execute(
        _ROOTS, {"ids": sorted(set(party_ids))})}


_ADD_AND_READ_SQL = """
WITH ins AS (
    INSERT INTO risk_identifiers (kind, value, party_id)
    SELECT k, v, %(party)s FROM unnest(%(kinds)s::text[], %(vals)s::text[]) AS x(k, v)
    ORDER BY k, v ON CONFLICT DO NOTHING RETURNING kind, value
)
SELECT kind, value, NULL::bigint, NULL::bigint, NULL::integer FROM ins
UNION ALL
SELECT NULL, NULL, rc.party_id, rc.root_id, r.size
FROM risk_components rc JOIN risk_components r ON r.party_id = rc.root_id
WHERE rc.party_id = ANY(%(ids)s::bigint[])
"""
_ADD_AND_READ_PG = " ".join(_ADD_AND_READ_SQL.split())


def add_and_read(conn: Connection, party_id: int, identifiers: Sequence[Identifier],
                 party_ids: Sequence[int]) -> tuple[list[Identifier], Roots]:
    """:func:`add_identifiers` and :func:`roots_and_sizes` (read before the new pairs are
    joined: read them again if any is new). PostgreSQL: one statement."""
    if conn.dialect.name != "postgresql":
        return add_identifiers(conn, party_id, identifiers), roots_and_sizes(conn, party_ids)
    rows = conn.exec_driver_sql(_ADD_AND_READ_PG, {
        "party": party_id, "kinds": array_literal(k for k, _ in identifiers),
        "vals": array_literal(v for _, v in identifiers),
        "ids": int_array(sorted(set(party_ids)))}).all()
    new = [(str(k), str(v)) for k, v, p, _, _ in rows if p is None]
    found = {int(p): (int(r), int(z)) for _, _, p, r, z in rows if p is not None}
    return new, found


def component_size(conn: Connection, root: int) -> int:
    rc = t.risk_components
    return int(conn.execute(select(rc.c.size).where(rc.c.party_id == root)).scalar_one())


def members(conn: Connection, root: int, limit: int) -> list[int]:
    """Up to ``limit`` members of the component rooted at ``root`` (through its index)."""
    rc = t.risk_components
    return [int(p) for p in conn.execute(
        select(rc.c.party_id).where(rc.c.root_id == root).order_by(rc.c.party_id).limit(limit))
        .scalars()]


def velocity_counts(conn: Connection, consumer_id: int, merchant_id: int, period: int,
                    caps: tuple[int | None, int | None]) -> tuple[int, int]:
    """Under the consumer's velocity lock (PostgreSQL), its orders of ``period``, and of them at
    ``merchant_id``, each counted up to its cap (``(per consumer, per pair)``; 0 where no cap).

    PostgreSQL: one round trip of three statements (simple protocol: every value is an integer
    written into the text), each with its own snapshot, so the counts, read after the lock is
    held, see every order committed before it.
    """
    per_consumer, per_pair = caps
    if conn.dialect.name != "postgresql":
        return (orders_in_period(conn, consumer_id, period, at_most=per_consumer)
                if per_consumer is not None else 0,
                orders_in_period(conn, consumer_id, period, merchant_id=merchant_id,
                                 at_most=per_pair) if per_pair is not None else 0)
    c, m, p = int(consumer_id), int(merchant_id), int(period)
    counts = []
    for cap, pair in ((per_consumer, ""), (per_pair, f" AND merchant_id = {m}")):
        counts.append("SELECT 0" if cap is None else (
            f"SELECT count(*) FROM (SELECT 1 FROM orders WHERE consumer_id = {c} AND "
            f"period = {p}{pair} LIMIT {int(cap)}) AS x"))
    result = conn.exec_driver_sql(
        f"SELECT pg_advisory_xact_lock({VELOCITY_LOCKS}, {c % 2**31}); " + "; ".join(counts))
    cursor = result.cursor
    found = []
    while cursor is not None and cursor.nextset():
        row = cursor.fetchone()
        assert row is not None
        found.append(int(row[0]))
    result.close()
    return found[0], found[1]


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
