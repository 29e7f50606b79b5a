"""Webhook subscriptions, their deliveries and attempts, and the feed they follow
(``services.webhooks``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gongsheng.adapters.event_store import StoredEvent


class WebhookStore(Protocol):
    """A subscription follows the feed from its position on; a delivery is one (subscription,
    event), made at least once; a subscription is worked by the one worker holding its lease.
    Rows are returned as records with the tables' column names."""

    def insert_subscription(self, url: str, types: Sequence[str], secret: str,
                            cursor: tuple[int, int], snapshot: str | None) -> int:
        """A new active subscription whose feed position starts at ``cursor``; its id."""
        ...

    def subscription_row(self, sub_id: int, *, lock: bool = False) -> Any:
        """The subscription (None when unknown or deleted)."""
        ...

    def subscription_rows(self) -> list[Any]:
        ...

    def update_subscription(self, sub_id: int, **values: Any) -> None:
        ...

    def claim_subscription(self, worker: str, now_ms: int, lease_ms: int) -> Any:
        """Lease the active subscription waiting longest whose lease ran out (None: none is)."""
        ...

    def release_subscription(self, sub_id: int, worker: str, until_ms: int) -> None:
        """End ``worker``'s lease; the subscription is claimable again from ``until_ms``."""
        ...

    def add_deliveries(self, sub_id: int, event_rows: Sequence[int], now_ms: int) -> None:
        ...

    def pending_deliveries(self, sub_id: int, limit: int) -> list[Any]:
        """The subscription's oldest pending deliveries, in the order they must go out."""
        ...

    def delivery_row(self, sub_id: int, delivery_id: int) -> Any:
        ...

    def update_delivery(self, delivery_id: int, **values: Any) -> None:
        ...

    def add_attempt(self, values: dict[str, Any]) -> None:
        ...

    def delivery_page(self, sub_id: int, limit: int, offset: int) -> list[Any]:
        """Deliveries of a subscription, newest first, with their event's id and type."""
        ...

    def attempt_log(self, delivery_ids: Sequence[int]) -> dict[int, list[Any]]:
        """Every attempt of the given deliveries, oldest first."""
        ...

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per status (for the benchmark and the operator)."""
        ...

    def record_delivered(self, sub_id: int, attempts: Sequence[dict[str, Any]],
                         now_ms: int) -> None:
        """Log attempts that were all delivered and mark their deliveries so (three statements)."""
        ...

    def feed_head(self) -> tuple[tuple[int, int], str | None]:
        """Where a reader starts to get only the events committed from now on (position, snapshot)."""
        ...

    def feed_page(self, after: tuple[int, int], limit: int) -> list[StoredEvent]:
        """Up to ``limit`` final events after position ``after``, in position order."""
        ...

    def events_at(self, rows: Collection[int]) -> dict[int, StoredEvent]:
        ...

    def relax_commit(self) -> None:
        """Let this transaction commit without waiting for its flush to disk (what it writes
        may be lost in a crash, never half-written)."""
        ...
