"""The outbox's store: domain events written in the transaction of the change they describe.

Each event becomes one ``events`` row: a stable ``event_id`` (:func:`new_event_id`, drawn when the
row is built), its type name and schema version, its period and its JSON body (compact, keys
sorted). Rows are only ever inserted: by :func:`add_events`, or by a statement that writes a change
and the events recorded with it at once (``order_store``'s order statement, through
:func:`outbox_insert`).

**Events written by their change's statement.** An order's ``order.placed`` event names the
order's id, which the statement writing the order draws. Such an event is recorded with a
*slot* (:class:`Recorded`): the integer field of the event that holds a placeholder, and the key
of the row whose id goes there. :func:`body_parts` cuts its body where that value goes; the
statement joins the two parts around the row's id, so the stored body is exactly the body of the
event with the id in it (``head + str(id) + tail``). A slotted event can only be written by such
a statement (:func:`add_events` refuses it).

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
they were recorded (every insert here draws its rows' ids in the order of the list it is given).
A long transaction holds the feed back (not the writers) until it ends. SQLite has one writer at
a time (``BEGIN IMMEDIATE``): id order is commit order.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Text, cast, func, literal, select, tuple_

from gongsheng.adapters import tables as t
from gongsheng.adapters.pg_arrays import array_literal, int_array
from gongsheng.domain.envelope import StoredEvent as StoredEvent  # the rows feed_page returns
from gongsheng.domain.events import Recorded


def new_event_id() -> str:
    """A fresh stable event id: ``evt_`` and the 32 hex digits of a UUIDv7 (RFC 9562).

    48 bits of Unix time in milliseconds lead, then the version and variant bits and 74 random
    bits (from ``os.urandom``): two ids collide with a negligible chance even within one
    millisecond, and ids drawn later sort after earlier ones (millisecond by millisecond), so a
    new row goes to the end of the unique index on ``event_id``, not to a random page of it.
    """
    r = int.from_bytes(os.urandom(10), "big")
    value = ((time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76
             | (r >> 62 & 0xFFF) << 64 | 0b10 << 62 | r & ((1 << 62) - 1))
    return f"evt_{value:032x}"


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""Compact, keys sorted; built once (``json.dumps`` with options builds an encoder per call,
which costs an order's event about as much as encoding its body)."""


def _json(value: dict[str, Any]) -> str:
    return _ENCODER.encode(value)


_SLOT_MARK = 2**64 + 1
"""Stands in a slot while a body is encoded: no stored value is this large (every integer column
is a signed 64-bit one), so its text names the slot's place in the encoded body."""


def body_parts(recorded: Recorded) -> tuple[str, str]:
    """The event's JSON body; for a slotted event, cut where the slot's value goes.

    Invariant: for any integer ``n``, ``head + str(n) + tail`` is the body the event would have
    with ``n`` in its slot field (keys sorted as ``json.dumps`` sorts them). Unslotted:
    ``(body, "")``. The body is encoded once, with :data:`_SLOT_MARK` in the slot, and cut
    around the mark; a body holding the mark's text elsewhere too is cut field by field instead.
    """
    body = recorded.event.fields()  # encodes as body() does, without its copies
    if recorded.slot is None:
        return _json(body), ""
    field = recorded.slot[0]
    if not isinstance(body[field], int):
        raise TypeError(f"the slot {field!r} of {recorded.event.type} is not an integer field")
    body[field] = _SLOT_MARK
    text = _json(body)
    mark = f"{json.dumps(field)}:{_SLOT_MARK}"
    if text.count(str(_SLOT_MARK)) == 1 and text.count(mark) == 1:
        head, tail = text.split(mark)
        return head + mark[:-len(str(_SLOT_MARK))], tail
    return _cut(body, field)


def _cut(body: dict[str, Any], field: str) -> tuple[str, str]:
    """``body`` encoded as the fields before ``field`` and after it, joined around its value."""
    before = _json({k: v for k, v in body.items() if k < field})
    after = _json({k: v for k, v in body.items() if k > field})
    head = before[:-1] + ("," if len(before) > 2 else "") + json.dumps(field) + ":"
    return head, ("," + after[1:] if len(after) > 2 else "}")


def _rows(events: Sequence[Recorded]) -> list[tuple[str, str, int, int, str, str, str | None]]:
    """``(event_id, type, version, period, head, tail, key)`` per event, in order."""
    out = []
    for r in events:
        head, tail = body_parts(r)
        out.append((new_event_id(), r.event.type, r.event.version, r.event.period, head, tail,
                    None if r.slot is None else r.slot[1]))
    return out


_ARRAYS = (("event_id", "text"), ("type", "text"), ("version", "integer"), ("period", "integer"),
           ("head", "text"), ("tail", "text"), ("key", "text"))
"""The arrays an insert of events takes; one without slots takes the first five."""
_PLAIN = 5


def outbox_insert(prefix: str, slots: tuple[str, str] | None = None) -> str:
    """PostgreSQL: an ``INSERT`` of the events passed as :func:`outbox_params` ``prefix``, ids
    drawn in the events' order, each row stamped with the transaction's id.

    ``slots``: ``(rows, key)``, for a statement whose CTE ``rows`` writes the rows that slotted
    events name: a slot is filled with the ``id`` of the row of ``rows`` whose column ``key`` is
    the event's key (a slot whose row is not there leaves the body NULL, which the table
    refuses). Without it the events may not be slotted.
    """
    width = _PLAIN if slots is None else len(_ARRAYS)
    arrays = ", ".join(f"%({prefix}{i})s::{kind}[]" for i, (_, kind) in enumerate(_ARRAYS[:width]))
    names = ", ".join(name for name, _ in _ARRAYS[:width])
    body, join = "v.head", ""
    if slots is not None:
        rows, key = slots
        body = f"CASE WHEN v.key IS NULL THEN v.head ELSE v.head || {rows}.id || v.tail END"
        join = f" LEFT JOIN {rows} ON {rows}.{key} = v.key"
    return (f"INSERT INTO events (event_id, type, version, period, body, txid) "
            f"SELECT v.event_id, v.type, v.version, v.period, {body}, "
            f"pg_current_xact_id()::text::bigint "
            f"FROM unnest({arrays}) WITH ORDINALITY AS v({names}, ord){join} ORDER BY v.ord")


def outbox_params(prefix: str, events: Sequence[Recorded], *, slots: bool = True) -> dict[str, str]:
    """The parameters of :func:`outbox_insert` ``prefix`` (with ``slots`` or not) for
    ``events``, with fresh ids."""
    width = len(_ARRAYS) if slots else _PLAIN
    rows = _rows(events)
    columns: list[Sequence[Any]] = [[r[i] for r in rows] for i in range(width)]
    return {f"{prefix}{i}": int_array(c) if kind == "integer" else array_literal(c)
            for i, ((_, kind), c) in enumerate(zip(_ARRAYS, columns, strict=False))}


_INSERT_PG = outbox_insert("e")
_INSERT_SQLITE = "INSERT INTO events (event_id, type, version, period, body) VALUES (?, ?, ?, ?, ?)"


def add_events(conn: Connection, events: Sequence[Recorded]) -> None:
    """Write ``events`` (none slotted) in the connection's transaction, in order: on PostgreSQL
    one statement, on SQLite one prepared insert run per row."""
    if not events:
        return
    if any(r.slot is not None for r in events):
        raise ValueError("a slotted event is written only by the statement that writes its row")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_INSERT_PG, outbox_params("e", events, slots=False))
    else:
        conn.exec_driver_sql(_INSERT_SQLITE, [r[:_PLAIN] for r in _rows(events)])


def stored_events(conn: Connection, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Events after row ``after`` in id order: ``id, event_id, type, version, period, body``."""
    rows = conn.execute(select(t.events.c.id, t.events.c.event_id, t.events.c.type,
                               t.events.c.version, t.events.c.period, t.events.c.body)
                        .where(t.events.c.id > after).order_by(t.events.c.id).limit(limit))
    return [{"id": int(r.id), "event_id": r.event_id, "type": r.type, "version": int(r.version),
             "period": int(r.period), "body": json.loads(r.body)} for r in rows]


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
