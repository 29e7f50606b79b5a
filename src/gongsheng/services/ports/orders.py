"""Placed orders and their refunds, as a refund reads and writes them."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.ledger import JournalEntry
from gongsheng.domain.refunds import OrderRecord, RefundRecord


class OrderStore(Protocol):
    """An order's ``refunded_fen`` is the sum of its refunds' amounts and never exceeds its
    amount; nothing else of a placed order changes. A refund is stored at most once under its
    key (of two writers racing with one key, the second one's write fails and its transaction
    rolls back), and only its clawback is set after it was stored. ``lock=True`` holds the order
    row read until the transaction ends, so that two refunds of one order cannot both pass one
    check of what is left to refund."""

    def order(self, order_id: int, *, lock: bool = False) -> OrderRecord | None:
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
