"""The outbox's store: domain events written in the transaction of the change they describe.

Each event becomes one ``events`` row: a stable ``event_id`` (``evt_`` and 32 hex digits, drawn
when the row is written), its type name and schema version, its period and its JSON body. Rows
are only ever inserted; ``id`` orders them within one writer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.domain.events import Event

_INSERT = insert(t.events)


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` row of one event (a fresh stable id)."""
    return {"event_id": f"evt_{uuid.uuid4().hex}", "type": event.type, "version": event.version,
            "period": event.period,
            "body": json.dumps(event.body(), separators=(",", ":"), sort_keys=True)}


def add_events(conn: Connection, events: Sequence[Event]) -> None:
    """Write ``events`` in the connection's transaction (one statement)."""
    if events:
        conn.execute(_INSERT, [event_row(e) for e in events])


def stored_events(conn: Connection, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Events after row ``after`` in id order: ``id, event_id, type, version, period, body``."""
    rows = conn.execute(select(t.events.c.id, t.events.c.event_id, t.events.c.type,
                               t.events.c.version, t.events.c.period, t.events.c.body)
                        .where(t.events.c.id > after).order_by(t.events.c.id).limit(limit))
    return [{"id": int(r.id), "event_id": r.event_id, "type": r.type, "version": int(r.version),
             "period": int(r.period), "body": json.loads(r.body)} for r in rows]
