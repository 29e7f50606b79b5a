"""Webhook subscriptions and their deliveries (use cases for the API and the worker).

A subscription names a URL, the event types it wants and a signing secret; it follows the feed
from a position of its own. The worker (``entrypoints/worker.py``) repeats :func:`claim` ->
deliver each claimed delivery over HTTP outside any transaction -> :func:`record`. Invariants:

- every event of a subscribed type that commits after the subscription was made (and none
  that committed before: on PostgreSQL, those visible in the snapshot it was made in) gets exactly
  one delivery row (fan-out moves the subscription's position in the same transaction as the
  rows it adds), and each is attempted until delivered or given up: at least once;
- deliveries of one subscription go out in feed order: a later one waits while an earlier one
  is pending (retried with backoff, :class:`~gongsheng.domain.webhooks.RetrySchedule`);
- a delivery that fails for the whole retry window is given up, and its subscription disabled
  (``webhook.disabled`` recorded); a manual retry of a delivery re-enables it;
- the secret is shown once; after a rotation the old secret keeps signing for a grace period.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gongsheng.adapters.event_store import StoredEvent, committed_before
from gongsheng.adapters.webhook_http import Outcome, check_target, new_secret
from gongsheng.domain.envelope import envelope, event_types
from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.events import WebhookDisabled
from gongsheng.domain.webhooks import RetrySchedule
from gongsheng.services.unit_of_work import UnitOfWork

MAX_URL = 2000


@dataclass(frozen=True)
class DeliveryConfig:
    """How the worker delivers: retries, leases, batches, and whether private targets are allowed."""

    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    lease_ms: int = 60_000
    idle_ms: int = 500
    batch: int = 50
    fan_out: int = 500
    secret_grace_ms: int = 24 * 3_600_000
    allow_private: bool = False


def millis(when: int | None) -> str | None:
    """An epoch-milliseconds time as RFC 3339 UTC."""
    if when is None:
        return None
    return datetime.fromtimestamp(when / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _view(row: Any, now_ms: int) -> dict[str, Any]:
    grace = row.previous_until_ms if row.previous_until_ms and row.previous_until_ms > now_ms else None
    return {"id": int(row.id), "url": row.url, "events": json.loads(row.event_types),
            "status": row.status, "failures": int(row.failures),
            "disabled_reason": row.disabled_reason, "previous_secret_valid_until": millis(grace),
            "created_at": str(row.created_at) if row.created_at is not None else None}


def create_subscription(uow: UnitOfWork, url: str, types: Sequence[str], *, now_ms: int,
                        allow_private: bool = False) -> dict[str, Any]:
    """A subscription to ``types`` at ``url`` from now on; the answer carries its secret."""
    if len(url) > MAX_URL:
        raise InvalidInput(f"a webhook URL has at most {MAX_URL} characters")
    chosen = event_types(types)
    assert chosen is not None
    check_target(url, allow_private=allow_private)
    secret = new_secret()
    position, snapshot = uow.webhooks.feed_head()
    sub_id = uow.webhooks.insert_subscription(url, sorted(chosen), secret, position, snapshot)
    row = uow.webhooks.subscription_row(sub_id)
    uow.audit("webhook.created", f"webhook:{sub_id}", {"url": url, "events": sorted(chosen)})
    return {**_view(row, now_ms), "secret": secret}


def _subscription(uow: UnitOfWork, sub_id: int, *, lock: bool = False) -> Any:
    row = uow.webhooks.subscription_row(sub_id, lock=lock)
    if row is None:
        raise NotFound(f"webhook subscription {sub_id} does not exist")
    return row


def list_subscriptions(uow: UnitOfWork, *, now_ms: int) -> list[dict[str, Any]]:
    return [_view(r, now_ms) for r in uow.webhooks.subscription_rows()]


def delete_subscription(uow: UnitOfWork, sub_id: int) -> None:
    """Stop a subscription for good (its deliveries stay readable); deleting twice is a 404."""
    _subscription(uow, sub_id, lock=True)
    uow.webhooks.update_subscription(sub_id, status="deleted", lease_owner=None)
    uow.audit("webhook.deleted", f"webhook:{sub_id}", {"status": "deleted"})


def rotate_secret(uow: UnitOfWork, sub_id: int, *, now_ms: int, grace_ms: int) -> dict[str, Any]:
    """A new secret; the current one keeps signing (beside it) for ``grace_ms``."""
    row = _subscription(uow, sub_id, lock=True)
    secret = new_secret()
    until = now_ms + grace_ms
    uow.webhooks.update_subscription(sub_id, secret=secret, previous_secret=row.secret,
                              previous_until_ms=until)
    uow.audit("webhook.secret_rotated", f"webhook:{sub_id}",
              {"previous_secret_valid_until": millis(until)})
    return {"id": sub_id, "secret": secret, "previous_secret_valid_until": millis(until)}


def _delivery_view(row: Any, log: Sequence[Any]) -> dict[str, Any]:
    return {"id": int(row.id), "subscription_id": int(row.subscription_id),
            "event_id": row.event_id, "event_type": row.event_type, "status": row.status,
            "attempts": int(row.attempts),
            "next_attempt_at": millis(row.next_attempt_ms) if row.status == "pending" else None,
            "delivered_at": millis(row.delivered_ms), "last_status": row.last_status,
            "last_error": row.last_error,
            "log": [{"attempt": int(a.attempt), "at": millis(a.started_ms),
                     "status": a.status_code, "latency_ms": int(a.latency_ms),
                     "error": a.error, "worker": a.worker} for a in log]}


def list_deliveries(uow: UnitOfWork, sub_id: int, limit: int = 50,
                    offset: int = 0) -> list[dict[str, Any]]:
    """A subscription's deliveries, newest first, each with its attempt log."""
    _subscription(uow, sub_id)
    rows = uow.webhooks.delivery_page(sub_id, limit, offset)
    logs = uow.webhooks.attempt_log([int(r.id) for r in rows])
    return [_delivery_view(r, logs[int(r.id)]) for r in rows]


def retry_delivery(uow: UnitOfWork, sub_id: int, delivery_id: int, *, now_ms: int) -> dict[str, Any]:
    """Try a delivery again now with a fresh retry window (re-enabling a disabled subscription)."""
    sub = _subscription(uow, sub_id, lock=True)
    row = uow.webhooks.delivery_row(sub_id, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} of webhook subscription {sub_id} does not exist")
    uow.webhooks.update_delivery(delivery_id, status="pending", next_attempt_ms=now_ms,
                          first_attempt_ms=None)  # a delivered one goes out once more
    values: dict[str, Any] = {"lease_until_ms": min(int(sub.lease_until_ms), now_ms)}
    if sub.status == "disabled":
        values.update(status="active", failures=0, disabled_reason=None, lease_owner=None)
    uow.webhooks.update_subscription(sub_id, **values)
    uow.audit("webhook.delivery_retried", f"webhook:{sub_id}", {
        "delivery_id": delivery_id, "reenabled": sub.status == "disabled"})
    [found] = [d for d in list_deliveries(uow, sub_id, 1_000_000) if d["id"] == delivery_id]
    return found


# The worker's side.

@dataclass(frozen=True)
class Attempt:
    """One delivery to attempt: where, what, signed with which secrets."""

    delivery_id: int
    attempt: int
    first_attempt_ms: int | None
    due_ms: int
    url: str
    msg_id: str
    body: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    """A leased subscription and its pending deliveries, oldest first."""

    subscription_id: int
    worker: str
    leased_until_ms: int
    attempts: tuple[Attempt, ...]


def _fan_out(uow: UnitOfWork, sub: Any, now_ms: int, limit: int) -> None:
    """Add a delivery for each new final event of the subscription's types; move its position."""
    wanted = set(json.loads(sub.event_types))
    found = uow.webhooks.feed_page((int(sub.cursor_txid), int(sub.cursor_id)), limit)
    if not found:
        return
    uow.webhooks.add_deliveries(int(sub.id), [
        e.row for e in found
        if e.type in wanted and not committed_before(sub.start_snapshot, e.txid)], now_ms)
    last = found[-1].position
    uow.webhooks.update_subscription(int(sub.id), cursor_txid=last[0], cursor_id=last[1])


def body_of(event: StoredEvent) -> str:
    """The JSON body a delivery POSTs: the event's envelope."""
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def claim(uow: UnitOfWork, worker: str, config: DeliveryConfig, now_ms: int) -> Claim | None:
    """Lease one subscription whose turn it is, fan its new events out, and return its due
    deliveries (none: the lease is handed back until there may be something to do)."""
    sub = uow.webhooks.claim_subscription(worker, now_ms, config.lease_ms)
    if sub is None:
        return None
    sub_id = int(sub.id)
    _fan_out(uow, sub, now_ms, config.fan_out)
    pending = uow.webhooks.pending_deliveries(sub_id, config.batch)
    due = []
    for d in pending:
        if int(d.next_attempt_ms) > now_ms:
            break
        due.append(d)
    if not due:  # back when the first pending one is due, or to look for new events
        wake = int(pending[0].next_attempt_ms) if pending else now_ms + config.idle_ms
        uow.webhooks.release_subscription(sub_id, worker, wake)
        return Claim(sub_id, worker, now_ms, ())
    events = uow.webhooks.events_at([int(d.event_row) for d in due])
    keys = (sub.secret,) + ((sub.previous_secret,) if sub.previous_secret
                            and (sub.previous_until_ms or 0) > now_ms else ())
    attempts = tuple(
        Attempt(int(d.id), int(d.attempts) + 1, d.first_attempt_ms, int(d.next_attempt_ms),
                sub.url, events[int(d.event_row)].event_id, body_of(events[int(d.event_row)]),
                keys)
        for d in due)
    return Claim(sub_id, worker, now_ms + config.lease_ms, attempts)


def record(uow: UnitOfWork, claimed: Claim, attempt: Attempt, outcome: Outcome, *, started_ms: int,
           now_ms: int, config: DeliveryConfig, rng: random.Random, last: bool) -> bool:
    """Log an attempt and its outcome; schedule a retry, give up or mark it delivered. Hands the
    lease back when this was the batch's last attempt or it failed. Whether it was delivered."""
    sub_id = claimed.subscription_id
    uow.webhooks.add_attempt({"delivery_id": attempt.delivery_id, "attempt": attempt.attempt,
                             "worker": claimed.worker, "started_ms": started_ms,
                             "latency_ms": outcome.latency_ms, "status_code": outcome.status,
                             "error": outcome.error})
    sub = uow.webhooks.subscription_row(sub_id, lock=True)
    if outcome.delivered:
        uow.webhooks.update_delivery(attempt.delivery_id, status="delivered",
                              attempts=attempt.attempt, delivered_ms=now_ms,
                              last_status=outcome.status, last_error=None)
        uow.webhooks.update_subscription(sub_id, failures=0)
        if last:
            uow.webhooks.release_subscription(sub_id, claimed.worker, now_ms)
        return True
    first = attempt.first_attempt_ms if attempt.first_attempt_ms is not None else started_ms
    if sub is None:  # deleted meanwhile: log the failure, schedule nothing
        uow.webhooks.update_delivery(attempt.delivery_id, attempts=attempt.attempt,
                              last_status=outcome.status, last_error=outcome.error)
        return False
    failures = int(sub.failures) + 1
    again = config.schedule.next_attempt_ms(first, now_ms, attempt.attempt, rng)
    common = {"attempts": attempt.attempt, "first_attempt_ms": first,
              "last_status": outcome.status, "last_error": outcome.error}
    if again is not None:
        uow.webhooks.update_delivery(attempt.delivery_id, next_attempt_ms=again, **common)
        uow.webhooks.update_subscription(sub_id, failures=failures)
        uow.webhooks.release_subscription(sub_id, claimed.worker, again)
        return False
    uow.webhooks.update_delivery(attempt.delivery_id, status="failed", **common)
    reason = (f"delivery {attempt.delivery_id} failed {attempt.attempt} times over "
              f"{(now_ms - first) // 1000} s (last: {outcome.error})")[:500]
    uow.webhooks.update_subscription(sub_id, failures=failures, status="disabled",
                              disabled_reason=reason, lease_owner=None)
    if sub.status == "active":
        uow.record(WebhookDisabled(period=uow.periods.open_period().seq, subscription_id=sub_id,
                                   url=sub.url, failures=failures, reason=reason))
    return False


Sent = tuple[Attempt, Outcome, int]
"""An attempt made, what it got, and when it started (epoch ms)."""


def record_sent(uow: UnitOfWork, claimed: Claim, sent: Sequence[Sent], *, now_ms: int,
                config: DeliveryConfig, rng: random.Random, last: bool) -> None:
    """Record attempts made in a row (all delivered but perhaps the last) in one transaction.

    A lost record only means a delivery is made again (at least once), never that one is lost,
    so on PostgreSQL this transaction does not wait for its WAL flush.
    """
    uow.webhooks.relax_commit()
    ok = [(a, o, st) for a, o, st in sent if o.delivered]
    uow.webhooks.record_delivered(claimed.subscription_id, [
        {"delivery_id": a.delivery_id, "attempt": a.attempt, "worker": claimed.worker,
         "started_ms": st, "latency_ms": o.latency_ms, "status_code": o.status, "error": None}
        for a, o, st in ok], now_ms)
    failed = [(a, o, st) for a, o, st in sent if not o.delivered]
    for attempt, outcome, started in failed:  # at most one: a failure ends the run
        record(uow, claimed, attempt, outcome, started_ms=started, now_ms=now_ms, config=config,
               rng=rng, last=last)
    if last and not failed and ok:
        uow.webhooks.release_subscription(claimed.subscription_id, claimed.worker, now_ms)


def deliver_claim(run: Callable[..., Any], claimed: Claim,
                  send: Callable[[Attempt], Outcome], clock: Callable[[], int],
                  config: DeliveryConfig, rng: random.Random, flush_ms: int = 200) -> int:
    """Attempt a claim's deliveries in order, each outside any transaction; stop at the first
    failure or when the lease nears its end. Outcomes are recorded together at most every
    ``flush_ms`` (and at a failure and at the end), so a worker that dies sends at most that
    many again. How many were delivered."""
    delivered = 0
    unrecorded: list[Sent] = []
    flushed = clock()
    for i, attempt in enumerate(claimed.attempts):
        started = clock()
        if started > claimed.leased_until_ms - config.lease_ms // 2:
            break
        outcome = send(attempt)
        unrecorded.append((attempt, outcome, started))
        end = not outcome.delivered or i == len(claimed.attempts) - 1
        if end or clock() - flushed >= flush_ms:
            run(record_sent, claimed, unrecorded, now_ms=clock(), config=config, rng=rng,
                last=end)
            unrecorded, flushed = [], clock()
        if not outcome.delivered:
            return delivered
        delivered += 1
    if unrecorded or delivered < len(claimed.attempts):  # stopped before the lease ran out
        at = clock()

        def finish(uow: UnitOfWork) -> None:
            record_sent(uow, claimed, unrecorded, now_ms=at, config=config, rng=rng, last=False)
            uow.webhooks.release_subscription(claimed.subscription_id, claimed.worker, at)

        run(finish)
    return delivered
