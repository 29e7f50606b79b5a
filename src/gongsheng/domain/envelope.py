"""The envelope (事件信封): a committed event as the feed and the webhooks carry it.

``{"id", "type", "version", "period", "timestamp", "data"}``: the event's stable id, type name,
schema version and period, its commit-time timestamp (RFC 3339, UTC) and its body as ``data``.
A stored event also has a position in the outbox, ``(txid, row)``; every reader agrees on the
order of positions (``adapters/event_store.py`` explains why).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.events import EVENT_TYPES


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
