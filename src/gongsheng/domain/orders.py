"""Orders and refunds as amounts and journal entries.

An order's :class:`OrderAmounts` hold every figure it moves: cash, voucher part, the voucher's cost
to the pool, the concession and its split, and the points awarded. :func:`order_legs` turns them
into the legs of one balanced entry; a refund is the same builder applied to the difference of two
cumulative pro-rata scalings (:meth:`OrderAmounts.refunded_to`), so that

- every refund entry balances, by construction;
- after refunds totalling the whole order, every amount is reversed exactly, to the fen, however
  the refunds were cut (no drift from per-refund rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from gongsheng.domain.errors import InsufficientBalance, InvalidInput
from gongsheng.domain.ledger import (
    ACCOUNTS_PER_PARTY,
    AccountKind,
    Asset,
    JournalEntry,
    account_id,
    system_account,
)
from gongsheng.domain.money import apply_rate, prorate, split_pro_rata
from gongsheng.domain.periods import OpenPeriod
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.waterfall import Beneficiaries, Split

Leg = tuple[int, Asset, int]

IDENTIFIER_LENGTH = 128
"""The longest payment or device identifier (and external party id) stored, in characters."""


@dataclass(frozen=True)
class OrderContext:
    """What the waterfall needs to know of the consumer, the merchant and the roles around them."""

    merchant_channel: str
    merchant_region: int
    merchant_rate: Decimal
    contract_rate: Decimal
    accepts_vouchers: bool
    beneficiaries: Beneficiaries
    referrer_id: int | None
    first_order_pending: bool
    last_active_period: int | None
    consumer_frozen: bool = False
    """A frozen consumer's voucher spends are refused (its cash orders are not)."""


@dataclass(frozen=True)
class OrderStart:
    """What an order's first step read and took under the books lock (shared): the open
    period, the order's context, and whether it claimed the consumer's first order.

    ``velocity_locked``: whether the consumer's velocity lock is held already (where the store
    needs one: it was taken when the period's policy version was known to cap velocity).
    """

    period: OpenPeriod
    context: OrderContext
    first: bool
    velocity_locked: bool


@dataclass(frozen=True)
class PointsAward:
    """Points of one order, centi-points: consumer and merchant get the same; referrer on a first order."""

    consumer_cpts: int
    merchant_cpts: int
    referrer_cpts: int


def holder_awards(policy: Policy, consumer_id: int, merchant_id: int, referrer_id: int | None,
                  points: PointsAward) -> tuple[tuple[int | None, Decimal, int], ...]:
    """``(holder, cap multiple, points)`` of an order's three holders: the consumer and its
    referrer hold at the consumers' cap multiple, the merchant at the merchants'. An order's
    points go in by these, and a refund's come out by them."""
    return ((consumer_id, policy.consumer_cap_multiple, points.consumer_cpts),
            (merchant_id, policy.merchant_cap_multiple, points.merchant_cpts),
            (referrer_id, policy.consumer_cap_multiple, points.referrer_cpts))


def award_points(policy: Policy, gross_fen: int, concession_fen: int, *, first_order: bool,
                 has_referrer: bool) -> PointsAward:
    """绿色积分: points = concession x points-per-yuan; referral points on a first order only."""
    pts = int(apply_rate(concession_fen, policy.points_per_yuan))
    referral = (
        int(apply_rate(gross_fen, policy.referral.rate))
        if policy.referral.enabled and first_order and has_referrer else 0
    )
    return PointsAward(pts, pts, referral)


def voucher_limit(policy: Policy, gross_fen: int, *, at_mall: bool) -> int:
    """The most of an order of ``gross_fen`` that vouchers may pay at this kind of seller."""
    share = policy.vouchers.max_share_at_mall if at_mall else policy.vouchers.max_share_at_merchant
    return int(apply_rate(gross_fen, share)) if share < 1 else gross_fen


def voucher_cost(policy: Policy, voucher_fen: int, *, at_mall: bool) -> int:
    """What spending ``voucher_fen`` costs the pool: face value at a merchant, the cost share at the mall."""
    return int(apply_rate(voucher_fen, policy.vouchers.mall_cost_share)) if at_mall else voucher_fen


def check_voucher_part(policy: Policy, gross_fen: int, voucher_fen: int, balance_fen: int, *,
                       at_mall: bool, merchant_accepts: bool) -> None:
    """Refuse a voucher part the merchant, the channel's share cap or the balance does not allow."""
    check_voucher_terms(policy, gross_fen, voucher_fen, at_mall=at_mall,
                        merchant_accepts=merchant_accepts)
    check_voucher_balance(voucher_fen, balance_fen)


def check_voucher_terms(policy: Policy, gross_fen: int, voucher_fen: int, *, at_mall: bool,
                        merchant_accepts: bool) -> None:
    """Refuse a voucher part the merchant or the channel's share cap does not allow (the seller's
    rules only: nothing about the consumer)."""
    if voucher_fen < 0:
        raise InvalidInput("voucher_fen must not be negative")
    if voucher_fen == 0:
        return
    if not merchant_accepts:
        raise InvalidInput("this merchant does not accept vouchers")
    limit = voucher_limit(policy, gross_fen, at_mall=at_mall)
    if voucher_fen > limit:
        raise InvalidInput(
            f"voucher part {voucher_fen} fen exceeds the {limit} fen vouchers may pay on this order"
        )


def check_voucher_balance(voucher_fen: int, balance_fen: int) -> None:
    """Refuse a voucher part above the consumer's balance. The error does not state the balance:
    it goes to the merchant, who may not read it."""
    if voucher_fen > balance_fen:
        raise InsufficientBalance(
            f"the consumer's voucher balance does not cover the voucher part of {voucher_fen} fen"
        )


@dataclass(frozen=True)
class OrderParties:
    """The parties an order's legs touch; ``None`` where absent (its share went to the pool)."""

    consumer: int
    merchant: int
    referrer: int | None
    recipients: tuple[int | None, ...]  # per waterfall part, in policy order
    platform_parts: tuple[bool, ...]    # per part: paid to platform revenue


@dataclass(frozen=True)
class OrderAmounts:
    """Every amount one order moves (or, as a difference, one refund reverses)."""

    gross_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_fen: int
    parts_fen: tuple[int, ...]  # per waterfall part, vacant parts included
    pool_fen: int               # the pool's share, vacant parts included
    points: PointsAward

    @classmethod
    def of(cls, split: Split, voucher_fen: int, voucher_cost_fen: int,
           points: PointsAward) -> OrderAmounts:
        return cls(split.gross_fen, voucher_fen, voucher_cost_fen, split.concession_fen,
                   tuple(a.amount_fen for a in split.allocations), split.pool_fen, points)

    def refunded_to(self, refunded_fen: int, vacant: tuple[bool, ...]) -> OrderAmounts:
        """The cumulative amounts reversed once ``refunded_fen`` of the gross has been refunded.

        Each amount is prorated half up; the concession's reversal is split over the paid parts
        and the pool by largest remainder, so it always sums to the reversed concession. A vacant
        part's figure is for display (its money is in the pool's share).
        """
        if not 0 <= refunded_fen <= self.gross_fen:
            raise InvalidInput("refunded amount must lie within the order's amount")
        g = self.gross_fen

        def part(x: int) -> int:
            return prorate(x, refunded_fen, g)

        conc = part(self.concession_fen)
        paid_weights = [0 if v else a for a, v in zip(self.parts_fen, vacant, strict=True)]
        shares = split_pro_rata(conc, [*paid_weights, self.pool_fen])
        parts = tuple(
            (part(a) if v else s) for a, v, s in zip(self.parts_fen, vacant, shares, strict=False)
        )
        return OrderAmounts(
            refunded_fen, part(self.voucher_fen), part(self.voucher_cost_fen),
            conc, parts, shares[-1],
            PointsAward(part(self.points.consumer_cpts), part(self.points.merchant_cpts),
                        part(self.points.referrer_cpts)),
        )

    def minus(self, other: OrderAmounts) -> OrderAmounts:
        return OrderAmounts(
            self.gross_fen - other.gross_fen,
            self.voucher_fen - other.voucher_fen,
            self.voucher_cost_fen - other.voucher_cost_fen,
            self.concession_fen - other.concession_fen,
            tuple(a - b for a, b in zip(self.parts_fen, other.parts_fen, strict=True)),
            self.pool_fen - other.pool_fen,
            PointsAward(self.points.consumer_cpts - other.points.consumer_cpts,
                        self.points.merchant_cpts - other.points.merchant_cpts,
                        self.points.referrer_cpts - other.points.referrer_cpts),
        )

    @property
    def points_total(self) -> int:
        return self.points.consumer_cpts + self.points.merchant_cpts + self.points.referrer_cpts


def order_legs(amounts: OrderAmounts, parties: OrderParties, sign: int = 1) -> list[Leg]:
    """The legs of an order (``sign=1``) or of its reversal (``sign=-1``); they always balance.

    Cash: the buyer's cash comes in; the merchant is settled the order less its concession (at
    the mall, less the part of the vouchers the pool does not pay); each part of the concession
    goes to its recipient, vacant parts and the rest to the pool. Vouchers spent are redeemed
    out of the reserve. Points are issued to consumer, merchant and referrer.
    """
    a, s = amounts, sign
    cash = a.gross_fen - a.voucher_fen
    legs: list[Leg] = [
        (system_account(AccountKind.CASH_IN), Asset.CNY, -s * cash),
        (account_id(parties.merchant, AccountKind.CASH), Asset.CNY,
         s * (a.gross_fen - a.concession_fen - a.voucher_fen + a.voucher_cost_fen)),
        (system_account(AccountKind.POOL_RESERVED), Asset.CNY, -s * a.voucher_fen),
        (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY,
         s * (a.voucher_fen - a.voucher_cost_fen + a.pool_fen)),
    ]
    for amount, holder, platform in zip(a.parts_fen, parties.recipients, parties.platform_parts,
                                        strict=True):
        if holder is None:
            continue
        acc = (system_account(AccountKind.PLATFORM_REVENUE) if platform
               else account_id(holder, AccountKind.CASH))
        legs.append((acc, Asset.CNY, s * amount))
    if a.voucher_fen:
        legs += [
            (account_id(parties.consumer, AccountKind.VOUCHERS), Asset.VCH, -s * a.voucher_fen),
            (system_account(AccountKind.VOUCHERS_REDEEMED), Asset.VCH, s * a.voucher_fen),
        ]
    p = a.points
    legs += [
        (system_account(AccountKind.POINTS_ISSUED), Asset.PTS, -s * a.points_total),
        (account_id(parties.consumer, AccountKind.POINTS), Asset.PTS, s * p.consumer_cpts),
        (account_id(parties.merchant, AccountKind.POINTS), Asset.PTS, s * p.merchant_cpts),
    ]
    if parties.referrer is not None and p.referrer_cpts:
        legs.append((account_id(parties.referrer, AccountKind.POINTS), Asset.PTS,
                     s * p.referrer_cpts))
    return legs


def platform_parts(policy: Policy) -> tuple[bool, ...]:
    return tuple(part.recipient is Recipient.PLATFORM for part in policy.waterfall)


def cap_fen(points_cpts: int, multiple: Decimal) -> int:
    """The vouchers a holding of points may release at most (display; releases use exact ratios)."""
    return int(apply_rate(points_cpts, multiple))



_KINDS = {k.code: k for k in AccountKind}


@dataclass(frozen=True)
class OrderRows:
    """Everything one order writes, as plain rows.

    ``holdings`` are ``(holder, start_period, multiple, points)`` merged per holding;
    ``group_points`` ``(start_period, multiple, points)`` merged per group; ``counters`` the
    period counters it adds to; ``activate`` whether to mark the consumer active in the period.
    """

    order: dict[str, Any]
    entry: JournalEntry
    holdings: tuple[tuple[int, int, str, int], ...]
    group_points: tuple[tuple[int, str, int], ...]
    counters: dict[str, int]
    activate: bool
    earnings: tuple[tuple[int, int], ...] = ()
    """``(party, fen)``: cash the order credits to each party (held: ``domain.holds``)."""
    parts: tuple[tuple[Any, ...], ...] = ()
    """The waterfall's parts ``(part, recipient, party_id, fen)``: ``order["allocations"]``
    unparsed, for the placed order's result."""
    referred_by: int | None = None
    """The referrer, when this is its referee's first order (one idle referee fewer)."""

    @property
    def takes_from_nonnegative(self) -> bool:
        """Whether a leg lowers a must-stay-positive balance (a voucher spend)."""
        return any(p.amount < 0 and _KINDS[p.account % ACCOUNTS_PER_PARTY].nonnegative
                   for p in self.entry.postings)


Counts = tuple[int, int]
"""An order's velocity counts: its consumer's orders of its period before it, in all and at its
merchant, each counted up to its cap (0 where none)."""


class Written(NamedTuple):
    """What the order store's write (``OrderStore.write``) wrote and read."""

    ids: list[int]
    """The new orders' ids, in the batch's order."""
    open_seq: int
    """The period open when the statement started."""
    counts: list[tuple[int, int]]
    """Per order, its consumer's orders of its period before the statement, in all and at its
    merchant, each counted up to its cap (0 where none)."""
