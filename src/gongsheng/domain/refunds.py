"""Orders as a refund reads them, and refunds as the books keep them.

A placed order never changes but for ``refunded_fen``, which only grows, is the sum of its
refunds' amounts and never exceeds the order's amount. A refund is stored once under its
idempotency key; only its ``clawback_fen`` is filled in after it was stored (what taking its
points back took back of the vouchers they had released).
"""

from __future__ import annotations

from dataclasses import dataclass

from gongsheng.domain.orders import OrderAmounts, OrderParties, PointsAward
from gongsheng.domain.policy import Recipient
from gongsheng.domain.waterfall import Allocation


@dataclass(frozen=True)
class OrderRecord:
    """A placed order: its parties and every amount it moved, and how much of it was refunded."""

    id: int
    consumer_id: int
    merchant_id: int
    referrer_id: int | None
    channel: str
    period: int
    policy_version_id: int
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_fen: int
    pool_fen: int
    allocations: tuple[Allocation, ...]
    consumer_cpts: int
    merchant_cpts: int
    referrer_cpts: int
    refunded_fen: int = 0

    @property
    def amounts(self) -> OrderAmounts:
        return OrderAmounts(
            self.amount_fen, self.voucher_fen, self.voucher_cost_fen, self.concession_fen,
            tuple(a.amount_fen for a in self.allocations), self.pool_fen,
            PointsAward(self.consumer_cpts, self.merchant_cpts, self.referrer_cpts))

    @property
    def vacant(self) -> tuple[bool, ...]:
        return tuple(a.vacant for a in self.allocations)

    @property
    def parties(self) -> OrderParties:
        return OrderParties(self.consumer_id, self.merchant_id, self.referrer_id,
                            tuple(a.party_id for a in self.allocations),
                            tuple(a.recipient is Recipient.PLATFORM for a in self.allocations))

    @property
    def holders(self) -> tuple[int, ...]:
        """Whose points (and the vouchers they released) a refund takes back."""
        return tuple(p for p in (self.consumer_id, self.merchant_id, self.referrer_id)
                     if p is not None)

    @property
    def pool_take(self) -> int:
        """The most a refund of the order takes from the dividend pool: its voucher part and
        the pool's share."""
        return self.voucher_fen + self.pool_fen

    @property
    def remaining_fen(self) -> int:
        """What is not refunded yet."""
        return self.amount_fen - self.refunded_fen

    def reversal(self, before_fen: int, amount_fen: int) -> OrderAmounts:
        """What refunding ``amount_fen`` once ``before_fen`` is refunded reverses: the difference
        of two cumulative pro-rata scalings, so refunds adding up to the order reverse it
        exactly (:meth:`OrderAmounts.refunded_to`)."""
        amounts, vacant = self.amounts, self.vacant
        return amounts.refunded_to(before_fen + amount_fen, vacant).minus(
            amounts.refunded_to(before_fen, vacant))


@dataclass(frozen=True)
class RefundRecord:
    """A refund as stored under its idempotency key."""

    id: int
    order_id: int
    amount_fen: int
    period: int
    clawback_fen: int
    platform_cover_fen: int
    request_hash: str
