"""The webhook tables: subscriptions, deliveries (one per subscription and event), attempts.

Claiming work: a worker takes a subscription by setting a lease (``lease_owner``,
``lease_until_ms``) in a short transaction and delivers outside any transaction. A subscription
is claimable when its lease has run out; on PostgreSQL the claim reads the row
``FOR UPDATE SKIP LOCKED``, so concurrent workers never take the same subscription, and a lease
outlives every attempt made under it, so no attempt is made twice. A worker that dies leaves its
lease to run out; the next one delivers what was in flight again (at least once). SQLite has one
writer at a time (``BEGIN IMMEDIATE``), which serialises claims the same way.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.event_store import StoredEvent, events_at, feed_head, feed_page
from gongsheng.adapters.locks import relax_commit

S, D, A = t.webhook_subscriptions, t.webhook_deliveries, t.webhook_attempts


def insert_subscription(conn: Connection, url: str, types: Sequence[str], secret: str,
                        cursor: tuple[int, int], snapshot: str | None) -> int:
    """A new active subscription whose feed position starts at ``cursor``; its id."""
    return int(conn.execute(insert(S).returning(S.c.id), {
        "url": url, "event_types": json.dumps(sorted(types)), "secret": secret,
        "cursor_txid": cursor[0], "cursor_id": cursor[1], "start_snapshot": snapshot}).scalar_one())


def subscription_row(conn: Connection, sub_id: int, *, lock: bool = False) -> Any:
    """The subscription (None when unknown or deleted)."""
    query = select(S).where(S.c.id == sub_id, S.c.status != "deleted")
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def subscription_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(S).where(S.c.status != "deleted").order_by(S.c.id)))


def update_subscription(conn: Connection, sub_id: int, **values: Any) -> None:
    conn.execute(update(S).where(S.c.id == sub_id).values(**values))


def claim_subscription(conn: Connection, worker: str, now_ms: int, lease_ms: int) -> Any:
    """Lease the active subscription waiting longest whose lease ran out (None: none is)."""
    query = (select(S).where(S.c.status == "active", S.c.lease_until_ms <= now_ms)
             .order_by(S.c.lease_until_ms, S.c.id).limit(1))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = conn.execute(query).first()
    if row is None:
        return None
    conn.execute(update(S).where(S.c.id == row.id)
                 .values(lease_owner=worker, lease_until_ms=now_ms + lease_ms))
    return row


def release_subscription(conn: Connection, sub_id: int, worker: str, until_ms: int) -> None:
    """End ``worker``'s lease; the subscription is claimable again from ``until_ms``."""
    conn.execute(update(S).where(S.c.id == sub_id, S.c.lease_owner == worker)
                 .values(lease_owner=None, lease_until_ms=until_ms))


def add_deliveries(conn: Connection, sub_id: int, event_rows: Sequence[int], now_ms: int) -> None:
    if event_rows:
        conn.execute(insert(D), [{"subscription_id": sub_id, "event_row": r,
                                  "next_attempt_ms": now_ms} for r in event_rows])


def pending_deliveries(conn: Connection, sub_id: int, limit: int) -> list[Any]:
    """The subscription's oldest pending deliveries, in the order they must go out."""
    return list(conn.execute(select(D).where(D.c.subscription_id == sub_id,
                                             D.c.status == "pending")
                             .order_by(D.c.id).limit(limit)))


def delivery_row(conn: Connection, sub_id: int, delivery_id: int) -> Any:
    return conn.execute(select(D).where(D.c.id == delivery_id,
                                        D.c.subscription_id == sub_id)).first()


def update_delivery(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(update(D).where(D.c.id == delivery_id).values(**values))


def add_attempt(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(A), values)


def delivery_page(conn: Connection, sub_id: int, limit: int, offset: int) -> list[Any]:
    """Deliveries of a subscription, newest first, with their event's id and type."""
    return list(conn.execute(
        select(D, t.events.c.event_id, t.events.c.type.label("event_type"))
        .join(t.events, t.events.c.id == D.c.event_row)
        .where(D.c.subscription_id == sub_id).order_by(D.c.id.desc())
        .limit(limit).offset(offset)))


def attempt_log(conn: Connection, delivery_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Every attempt of the given deliveries, oldest first."""
    out: dict[int, list[Any]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        for r in conn.execute(select(A).where(A.c.delivery_id.in_(list(delivery_ids)))
                              .order_by(A.c.id)):
            out[int(r.delivery_id)].append(r)
    return out


def delivery_counts(conn: Connection) -> dict[str, int]:
    """Deliveries per status (for the benchmark and the operator)."""
    return {s: int(n) for s, n in conn.execute(select(D.c.status, func.count())
                                               .group_by(D.c.status))}


def record_delivered(conn: Connection, sub_id: int, attempts: Sequence[dict[str, Any]],
                     now_ms: int) -> None:
    """Log attempts that were all delivered and mark their deliveries so (three statements)."""
    if not attempts:
        return
    conn.execute(insert(A), list(attempts))
    conn.execute(update(D).where(D.c.id == bindparam("did"))
                 .values(status="delivered", attempts=bindparam("att"), delivered_ms=now_ms,
                         last_status=bindparam("code"), last_error=None),
                 [{"did": a["delivery_id"], "att": a["attempt"], "code": a["status_code"]}
                  for a in attempts])
    conn.execute(update(S).where(S.c.id == sub_id, S.c.failures != 0).values(failures=0))


class SqlWebhookStore:
    """:class:`~gongsheng.services.ports.webhooks.WebhookStore` on a connection, with the feed
    the subscriptions follow (``adapters.event_store``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert_subscription(self, url: str, types: Sequence[str], secret: str,
                            cursor: tuple[int, int], snapshot: str | None) -> int:
        return insert_subscription(self.conn, url, types, secret, cursor, snapshot)

    def subscription_row(self, sub_id: int, *, lock: bool = False) -> Any:
        return subscription_row(self.conn, sub_id, lock=lock)

    def subscription_rows(self) -> list[Any]:
        return subscription_rows(self.conn)

    def update_subscription(self, sub_id: int, **values: Any) -> None:
        update_subscription(self.conn, sub_id, **values)

    def claim_subscription(self, worker: str, now_ms: int, lease_ms: int) -> Any:
        return claim_subscription(self.conn, worker, now_ms, lease_ms)

    def release_subscription(self, sub_id: int, worker: str, until_ms: int) -> None:
        release_subscription(self.conn, sub_id, worker, until_ms)

    def add_deliveries(self, sub_id: int, event_rows: Sequence[int], now_ms: int) -> None:
        add_deliveries(self.conn, sub_id, event_rows, now_ms)

    def pending_deliveries(self, sub_id: int, limit: int) -> list[Any]:
        return pending_deliveries(self.conn, sub_id, limit)

    def delivery_row(self, sub_id: int, delivery_id: int) -> Any:
        return delivery_row(self.conn, sub_id, delivery_id)

    def update_delivery(self, delivery_id: int, **values: Any) -> None:
        update_delivery(self.conn, delivery_id, **values)

    def add_attempt(self, values: dict[str, Any]) -> None:
        add_attempt(self.conn, values)

    def delivery_page(self, sub_id: int, limit: int, offset: int) -> list[Any]:
        return delivery_page(self.conn, sub_id, limit, offset)

    def attempt_log(self, delivery_ids: Sequence[int]) -> dict[int, list[Any]]:
        return attempt_log(self.conn, delivery_ids)

    def delivery_counts(self) -> dict[str, int]:
        return delivery_counts(self.conn)

    def record_delivered(self, sub_id: int, attempts: Sequence[dict[str, Any]],
                         now_ms: int) -> None:
        record_delivered(self.conn, sub_id, attempts, now_ms)

    def feed_head(self) -> tuple[tuple[int, int], str | None]:
        return feed_head(self.conn)

    def feed_page(self, after: tuple[int, int], limit: int) -> list[StoredEvent]:
        return feed_page(self.conn, after, limit)

    def events_at(self, rows: Collection[int]) -> dict[int, StoredEvent]:
        return events_at(self.conn, rows)

    def relax_commit(self) -> None:
        relax_commit(self.conn)
