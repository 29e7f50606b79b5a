"""The outbox's store: domain events written in the transaction of the change they describe.

Each event becomes one ``events`` row: a stable ``event_id`` (``evt_`` and 32 hex digits, drawn
when the row is written), its type name and schema version, its period and its JSON body. Rows
are only ever inserted, by :func:`add_events` alone.

**Position.** Every row has a position ``(txid, id)``: on PostgreSQL ``txid`` is the writing
transaction's id (``pg_current_xact_id()``), on SQLite 0. :func:`feed_page` serves rows in
position order, and on PostgreSQL only rows whose transaction is older than the oldest one
still running (``pg_snapshot_xmin`` of the reading statement's snapshot). Why a reader resuming
after the last position it saw never misses nor repeats a row:

- ``id`` values are drawn when a row is inserted, not when its transaction commits, so a
  plain ``id > last`` would skip a row whose transaction drew a smaller id and committed later;
- every transaction with ``txid < xmin`` has ended (committed or rolled back), so the set of
  rows with ``txid < xmin`` never changes again, and the statement sees all of them;
- a transaction still running, or not yet given an id, will have ``txid >= xmin`` (ids are
  handed out in increasing order); the last position served had ``txid < xmin``; hence every
  row that becomes visible later sits after it.

So "commit order" on PostgreSQL is the order of the transactions' ids, which every reader
agrees on once a transaction is final: events of one transaction are contiguous, in the order
they were recorded. A long transaction holds the feed back (not the writers) until it ends.
SQLite has one writer at a time (``BEGIN IMMEDIATE``): id order is commit order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Text, cast, func, insert, literal, select, tuple_

from gongsheng.adapters import tables as t
from gongsheng.domain.events import Event

_INSERT = insert(t.events)
_INSERT_PG = insert(t.events).values(
    txid=cast(cast(func.pg_current_xact_id(), Text), BigInteger))


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` row of one event (a fresh stable id)."""
    return {"event_id": f"evt_{uuid.uuid4().hex}", "type": event.type, "version": event.version,
            "period": event.period,
            "body": json.dumps(event.body(), separators=(",", ":"), sort_keys=True)}


def add_events(conn: Connection, events: Sequence[Event]) -> None:
    """Write ``events`` in the connection's transaction (one statement), stamped with its id."""
    if events:
        stmt = _INSERT_PG if conn.dialect.name == "postgresql" else _INSERT
        conn.execute(stmt, [event_row(e) for e in events])


def stored_events(conn: Connection, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Events after row ``after`` in id order: ``id, event_id, type, version, period, body``."""
    rows = conn.execute(select(t.events.c.id, t.events.c.event_id, t.events.c.type,
                               t.events.c.version, t.events.c.period, t.events.c.body)
                        .where(t.events.c.id > after).order_by(t.events.c.id).limit(limit))
    return [{"id": int(r.id), "event_id": r.event_id, "type": r.type, "version": int(r.version),
             "period": int(r.period), "body": json.loads(r.body)} for r in rows]


@dataclass(frozen=True)
class StoredEvent:
    """One outbox row as the feed and the webhooks carry it."""

    row: int
    txid: int
    event_id: str
    type: str
    version: int
    period: int
    occurred_at: datetime
    body: dict[str, Any]

    @property
    def position(self) -> tuple[int, int]:
        return (self.txid, self.row)


_FEED_COLUMNS = (t.events.c.id, t.events.c.txid, t.events.c.event_id, t.events.c.type,
                 t.events.c.version, t.events.c.period, t.events.c.occurred_at, t.events.c.body)


def _stored(r: Any) -> StoredEvent:
    return StoredEvent(int(r.id), int(r.txid), r.event_id, r.type, int(r.version), int(r.period),
                       r.occurred_at, json.loads(r.body))


def feed_page(conn: Connection, after: tuple[int, int], limit: int,
              types: Collection[str] | None = None) -> list[StoredEvent]:
    """Up to ``limit`` final events after position ``after``, in position order (see above)."""
    query = select(*_FEED_COLUMNS).where(
        tuple_(t.events.c.txid, t.events.c.id) > tuple_(literal(after[0]), literal(after[1])))
    if conn.dialect.name == "postgresql":
        horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
        query = query.where(t.events.c.txid < horizon)
    if types is not None:
        query = query.where(t.events.c.type.in_(sorted(types)))
    rows = conn.execute(query.order_by(t.events.c.txid, t.events.c.id).limit(limit))
    return [_stored(r) for r in rows]


def events_at(conn: Connection, rows: Collection[int]) -> dict[int, StoredEvent]:
    """The events of the given row ids."""
    if not rows:
        return {}
    found = conn.execute(select(*_FEED_COLUMNS).where(t.events.c.id.in_(sorted(rows))))
    return {int(r.id): _stored(r) for r in found}


def feed_head(conn: Connection) -> tuple[tuple[int, int], str | None]:
    """Where a reader starts to get only events committed from now on: a position and, on
    PostgreSQL, the current snapshot (``xmin:xmax:xip,...``). Events after the position whose
    transaction is visible in that snapshot committed before now (:func:`committed_before`)."""
    if conn.dialect.name == "postgresql":
        snapshot = str(conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one())
        return (int(snapshot.split(":", 1)[0]) - 1, 2**62), snapshot
    last = conn.execute(select(func.max(t.events.c.id))).scalar_one()
    return (0, int(last or 0)), None


def committed_before(snapshot: str | None, txid: int) -> bool:
    """Whether transaction ``txid`` had committed (or ended) when ``snapshot`` was taken."""
    if snapshot is None:
        return False
    xmin, xmax, xip = snapshot.split(":")
    running = {int(x) for x in xip.split(",") if x}
    return txid < int(xmin) or (txid < int(xmax) and txid not in running)
