"""The event feed (事件流): committed domain events in commit order, read with a resumable cursor.

A cursor names a position in the outbox (``adapters/event_store.py`` explains positions and why
they are served in an order every reader agrees on). The invariant a consumer relies on:
polling with the last cursor it was given, it sees every event exactly once, in commit order,
whatever order concurrent writers drew their ids and committed in. A filter by type skips the
other events; the cursor still moves past them.

An event travels as an envelope (the feed's items, the webhooks' bodies):
``{"id", "type", "version", "period", "timestamp", "data"}``; ``data`` is the event's body.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from gongsheng.adapters.event_store import StoredEvent, feed_page
from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.events import EVENT_TYPES

START = (0, 0)
"""The position before every event."""
MAX_PAGE = 1000
_CURSOR = re.compile(r"^([0-9]{1,19})-([0-9]{1,19})$")


def encode_cursor(position: tuple[int, int]) -> str:
    """The cursor of a position (opaque to clients: ``<txid>-<id>``)."""
    return f"{position[0]}-{position[1]}"


def decode_cursor(cursor: str | None) -> tuple[int, int]:
    """The position a cursor names (the start when None); :class:`InvalidInput` if malformed."""
    if cursor is None or cursor == "":
        return START
    match = _CURSOR.match(cursor)
    if match is None:
        raise InvalidInput("the cursor is not one the feed gave out (expected '<n>-<n>')")
    return int(match.group(1)), int(match.group(2))


def event_types(names: Collection[str] | None) -> frozenset[str] | None:
    """The type filter, every name checked against the known event types (None: every type)."""
    if names is None:
        return None
    chosen = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(chosen - EVENT_TYPES.keys())
    if unknown:
        raise InvalidInput(f"unknown event type {unknown[0]!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    if not chosen:
        raise InvalidInput("name at least one event type")
    return chosen


def timestamp(value: datetime | str) -> str:
    """An event's time as RFC 3339 UTC (SQLite returns a naive UTC time)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def envelope(event: StoredEvent) -> dict[str, Any]:
    """The event as the feed and the webhooks carry it."""
    return {"id": event.event_id, "type": event.type, "version": event.version,
            "period": event.period, "timestamp": timestamp(event.occurred_at), "data": event.body}


@dataclass(frozen=True)
class FeedPage:
    """Events after a cursor and the cursor to resume from (the given one if none came)."""

    items: list[dict[str, Any]]
    next_cursor: str


def read_feed(conn: Connection, after: str | None = None, types: Collection[str] | None = None,
              limit: int = 100) -> FeedPage:
    """Up to ``limit`` events after ``after`` (of ``types`` if given), in commit order."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    position = decode_cursor(after)
    found = feed_page(conn, position, limit, event_types(types))
    items = [{**envelope(e), "cursor": encode_cursor(e.position)} for e in found]
    return FeedPage(items, encode_cursor(found[-1].position if found else position))
