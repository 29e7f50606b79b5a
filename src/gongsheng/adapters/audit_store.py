"""The audit log's store: rows only ever inserted (:func:`add_records`), read newest first.

**Paging.** :func:`audit_page` walks rows by descending ``id`` from a keyset cursor (the last
id served, exclusive), never by ``OFFSET`` (``adapters/paging.py``): each page is one index range
scan, whatever its depth, and since ``id`` is unique and rows are never updated or deleted, a walk
never serves a row twice and never skips a row that had committed when the walk began.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page
from gongsheng.domain.audit import Actor, AuditRecord

_INSERT = insert(t.audit_log)


def _utc(value: dt.datetime) -> dt.datetime:
    """A time in UTC (a naive one is taken as UTC): PostgreSQL stores the instant, SQLite the
    UTC wall time, so comparisons agree on both."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def add_records(conn: Connection, actor: Actor, records: Sequence[AuditRecord],
                at: dt.datetime) -> None:
    """Write ``records`` by ``actor`` at ``at`` in the connection's transaction (one statement)."""
    if records:
        stamp = _utc(at)
        conn.execute(_INSERT, [
            {"at": stamp, "actor": actor.name, "request_id": actor.request_id,
             "action": r.action, "target": r.target,
             "changes": json.dumps(r.changes, separators=(",", ":"), sort_keys=True, default=str)}
            for r in records])


@dataclass(frozen=True)
class StoredRecord:
    """One audit row as the API and the admin page show it."""

    id: int
    at: dt.datetime  # UTC, aware
    actor: str
    request_id: str | None
    action: str
    target: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class AuditFilter:
    """What an audit page is restricted to (``None``: any); ``since`` inclusive, ``until``
    exclusive."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_page(conn: Connection, where: AuditFilter, before: int | None,
               limit: int) -> KeyedPage[StoredRecord]:
    """Up to ``limit`` records matching ``where`` with ids below ``before`` (all when None),
    newest first, and the cursor of the next page."""
    a = t.audit_log
    query = select(a)
    if where.actor is not None:
        query = query.where(a.c.actor == where.actor)
    if where.action is not None:
        query = query.where(a.c.action == where.action)
    if where.target is not None:
        query = query.where(a.c.target == where.target)
    if where.since is not None:
        query = query.where(a.c.at >= _utc(where.since))
    if where.until is not None:
        query = query.where(a.c.at < _utc(where.until))
    return keyed_page(conn, query, a.c.id, limit, before=before).map(
        lambda r: StoredRecord(int(r.id), _utc(r.at), r.actor, r.request_id, r.action, r.target,
                               json.loads(r.changes)))
