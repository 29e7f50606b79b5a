"""Placed orders and their refunds, as a refund reads and writes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gongsheng.domain.errors import GongshengError
from gongsheng.domain.ledger import JournalEntry
from gongsheng.domain.orders import Counts, OrderContext, OrderRows, OrderStart, Written
from gongsheng.domain.refunds import OrderRecord, RefundRecord

if TYPE_CHECKING:
    from gongsheng.domain.events import Recorded


StoredOrder = Mapping[str, Any]
"""A stored order's row, by column (``tables.orders``)."""


class OrderStore(Protocol):
    """An order's ``refunded_fen`` is the sum of its refunds' amounts and never exceeds its
    amount; nothing else of a placed order changes. A refund is stored at most once under its
    key (of two writers racing with one key, the second one's write fails and its transaction
    rolls back), and only its clawback is set after it was stored. ``lock=True`` holds the order
    row read until the transaction ends, so that two refunds of one order cannot both pass one
    check of what is left to refund."""

    def order(self, order_id: int, *, lock: bool = False) -> OrderRecord | None:
        ...

    def lock_refund(self, order_id: int) -> None:
        """Take a refund's adjustment locks (``Work.lock_adjustments``' rule) for the order: its
        holders (consumer, merchant, referrer), whose points and vouchers a refund takes back,
        and the pool for the most a refund takes from it (``OrderRecord.pool_take``); only the
        books shared when there is no such order. Where write transactions are serial (SQLite)
        there is nothing to lock, and the order is not read for it."""
        ...

    def refund(self, key: str) -> RefundRecord | None:
        """The refund stored under ``key``."""
        ...

    def refunded_before(self, order_id: int, refund_id: int) -> int:
        """What the order's refunds stored before refund ``refund_id`` refunded."""
        ...

    def add_refund(self, key: str, request_hash: str, order_id: int, amount_fen: int,
                   period: int, platform_cover_fen: int) -> int:
        """Store a refund under ``key`` (clawback 0) and add ``amount_fen`` to the order's
        ``refunded_fen``; its id (ids grow)."""
        ...

    def post_refund(self, entry: JournalEntry, period: int, refund_id: int,
                    order: OrderRecord, amount_fen: int) -> None:
        """Post refund ``refund_id``'s ``entry`` in ``period`` with what belongs to it, in one
        write: each party's cash it moves is attributed to the order's period (where holds look
        for it: ``domain.holds``), and the merchant's own-sales totals record the refund."""
        ...

    def set_clawback(self, refund_id: int, clawback_fen: int) -> None:
        ...

    # placing orders

    def begin(self, consumer_id: int, merchant_id: int, key: str) -> OrderStart | StoredOrder:
        """An order's first step: the order stored under ``key`` if there is one (a replay:
        nothing taken, nothing claimed), else, under the books lock taken shared and held to
        the end of the transaction, the open period, the order's context (refused:
        :class:`NotFound` for an unknown party, :class:`InvalidInput` for an inactive merchant,
        :class:`PartyFrozen` for a frozen one) and whether this order claimed the consumer's
        first order (recording ``key`` as it; undone with the transaction if the order is
        refused later). The period may predate a close the lock waited for: :meth:`write`
        returns the period open when it wrote, which the caller checks."""
        ...

    def by_id(self, order_id: int) -> StoredOrder | None:
        """The order stored with id ``order_id``."""
        ...

    def by_key(self, key: str) -> StoredOrder | None:
        """The order stored under idempotency key ``key``."""
        ...

    def by_keys(self, keys: Sequence[str]) -> dict[str, StoredOrder]:
        """The orders stored under ``keys``, by key (those that are)."""
        ...

    def contexts(self, pairs: Sequence[tuple[int, int]]
                 ) -> dict[tuple[int, int], OrderContext | GongshengError]:
        """The context of each ``(consumer, merchant)`` pair (the error that refuses it where
        it has none), read together."""
        ...

    def claim_first_orders(self, keys: dict[int, str]) -> set[int]:
        """Record ``keys[consumer]`` as each consumer's first order where none is recorded;
        the consumers whose first order this recorded."""
        ...

    def lock_velocity(self, consumer_id: int) -> None:
        """Hold the consumer's velocity lock to the end of the transaction, so that its orders'
        counts (:meth:`write`) see every order of it committed before (``services.velocity``;
        nothing to take where the store has one writer at a time)."""
        ...

    def write(self, batch: Sequence[OrderRows], events: Sequence[Recorded],
              caps: tuple[int | None, int | None] | None,
              refuse: Callable[[OrderRows, Counts], None]) -> Written:
        """Write the computed orders of ``batch`` and then ``events`` (the events recorded so
        far, in their order; a slotted one gets the id of the order its slot's key names).
        With ``caps``, ``refuse`` is given each order's velocity counts (its consumer's orders
        of its period before it, each counted up to its cap) and may raise; the caller then
        rolls back. Returns the orders' ids in the batch's order and the period open when the
        write ran."""
        ...

    def use_pay_code(self, code_hash: str, *, consumer_id: int, merchant_id: int,
                     voucher_fen: int, key: str, at: dt.datetime) -> bool:
        """Mark the pay code of hash ``code_hash`` used by the order under ``key`` if, and
        only if, it is unused, unexpired at ``at``, ``consumer_id``'s, allows ``merchant_id``
        and covers ``voucher_fen``; whether it did. Of orders racing for one code at most one
        uses it; undone with the transaction."""
        ...
