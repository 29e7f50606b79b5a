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
from typing import Any

from sqlalchemy import Connection

from gongsheng.adapters.event_store import feed_page
from gongsheng.domain.envelope import envelope, event_types
from gongsheng.domain.errors import InvalidInput

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
