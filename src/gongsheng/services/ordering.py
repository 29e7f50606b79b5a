"""Placing orders: concession, waterfall, points, vouchers, one balanced entry per order.

An order is written in one transaction: the order row (unique idempotency key), its journal
entry, the balance rows, the holdings of points (starting to release next period), the release
group's points and the period's counters. The same key with the same body returns the first
result, with another body a conflict; a key is never posted twice.

An order that spends vouchers carries the consumer's pay code (:mod:`services.pay_codes`), used
up in the order's transaction before the consumer's balance is read: without the consumer's act
no voucher moves, and a refusal tells the merchant nothing of the consumer's balance. Orders
without a voucher part never look at codes, so the cash path is unchanged. The pay code is not
part of the request's body hash: a replay of a placed order needs no fresh code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from gongsheng.domain.errors import InsufficientBalance, InvalidInput, NotFound, PartyFrozen, PayCodeRefused
from gongsheng.domain.events import OrderPlaced
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import AccountKind, EntryKind, JournalEntry
from gongsheng.domain.orders import (
    IDENTIFIER_LENGTH,
    OrderAmounts,
    OrderContext,
    OrderParties,
    OrderRows,
    OrderStart,
    award_points,
    check_voucher_balance,
    check_voucher_terms,
    holder_awards,
    order_legs,
    platform_parts,
    voucher_cost,
)
from gongsheng.domain.periods import OpenPeriod
from gongsheng.domain.policy import Policy, Recipient, RiskRule
from gongsheng.domain.waterfall import split_order
from gongsheng.services import pay_codes
from gongsheng.services.holdings import settle_holder
from gongsheng.services.idempotency import check_key, request_hash, same_request
from gongsheng.services.ports.orders import StoredOrder
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.unit_of_work import Connection, RetryTransaction, stores_on
from gongsheng.services.velocity import caps, refuse_over

__all__ = ["OrderContext", "OrderRequest", "OrderResult", "place_order", "write_orders"]

MAX_ORDER_FEN = 10**12
IDENTIFIERS = ("payment_ref", "device_id")
_IDENTIFIER = re.compile(r"[\x21-\x7e]{1," + str(IDENTIFIER_LENGTH) + "}")


def check_identifier(name: str, value: object) -> None:
    """Refuse an identifier that is not 1 to ``IDENTIFIER_LENGTH`` visible ASCII characters."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidInput(f"{name} must be a string of 1 to {IDENTIFIER_LENGTH} visible "
                           "ASCII characters (no spaces)")


@dataclass(frozen=True)
class OrderRequest:
    """An order as the merchant's or payment side reports it (never declared by the consumer).

    ``pay_code`` is the consumer's consent to the voucher part (required when ``voucher_fen``
    is positive, refused otherwise); it is a credential, not part of :meth:`body`.
    """

    consumer_id: int
    merchant_id: int
    amount_fen: int
    voucher_fen: int = 0
    idempotency_key: str = ""
    pay_code: str | None = None
    payment_ref: str | None = None
    """A hash of the paying instrument, from the payment side (feeds the risk detectors)."""
    device_id: str | None = None
    """The paying device, from the payment side (feeds the risk detectors)."""

    def body(self) -> dict[str, int | str]:
        """What the request's hash covers: the identifiers only when given, so that an order
        without them hashes as it did before they existed."""
        out: dict[str, int | str] = {
            "consumer_id": self.consumer_id, "merchant_id": self.merchant_id,
            "amount_fen": self.amount_fen, "voucher_fen": self.voucher_fen}
        if self.payment_ref is not None:
            out["payment_ref"] = self.payment_ref
        if self.device_id is not None:
            out["device_id"] = self.device_id
        return out

    def validate(self) -> None:
        check_key(self.idempotency_key)
        for name, value in self.body().items():
            if name in IDENTIFIERS:
                check_identifier(name, value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInput(f"{name} must be an integer")
        if not 0 < self.amount_fen <= MAX_ORDER_FEN:
            raise InvalidInput(f"amount_fen must be between 1 and {MAX_ORDER_FEN}")
        if not 0 <= self.voucher_fen <= self.amount_fen:
            raise InvalidInput("voucher_fen must lie between 0 and amount_fen")
        if self.pay_code is not None and not self.voucher_fen:
            raise InvalidInput("pay_code is only for an order that spends vouchers (voucher_fen > 0)")


@dataclass(frozen=True)
class OrderResult:
    """A placed order: its figures, the waterfall and the points awarded."""

    order_id: int
    period: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_rate: str
    concession_fen: int
    allocations: tuple[dict[str, Any], ...]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    refunded_fen: int
    replayed: bool = False


def allocation_dicts(parts: Sequence[Sequence[Any]]) -> tuple[dict[str, Any], ...]:
    """The waterfall's parts ``(part, recipient, party_id, amount_fen)`` as an order's result
    and a quote show them (a part with no party is vacant)."""
    return tuple({"part": a[0], "recipient": a[1], "party_id": a[2], "amount_fen": a[3],
                  "vacant": a[2] is None} for a in parts)


def _result(row: Any, replayed: bool, parts: Sequence[Sequence[Any]] | None = None) -> OrderResult:
    allocations = allocation_dicts(json.loads(row.allocations) if parts is None else parts)
    return OrderResult(
        order_id=int(row.id), period=int(row.period), consumer_id=int(row.consumer_id),
        merchant_id=int(row.merchant_id), channel=row.channel, amount_fen=int(row.amount_fen),
        voucher_fen=int(row.voucher_fen), voucher_cost_fen=int(row.voucher_cost_fen),
        concession_rate=row.concession_rate, concession_fen=int(row.concession_fen),
        allocations=allocations, pool_fen=int(row.pool_fen),
        consumer_cpts=int(row.consumer_cpts), merchant_cpts=int(row.merchant_cpts),
        referrer_id=row.referrer_id, referrer_cpts=int(row.referrer_cpts),
        refunded_fen=int(row.refunded_fen), replayed=replayed)


def order_result(row: Any) -> OrderResult:
    """The result of a stored order row (as read back, not a replay)."""
    return _result(row, replayed=False)


def get_order(conn: Connection, order_id: int) -> OrderResult:
    row = stores_on(conn).orders.by_id(order_id)
    if row is None:
        raise NotFound(f"order {order_id} does not exist")
    return _result(SimpleNamespace(**row), replayed=False)


def _replay(stored: StoredOrder, key: str, body_hash: str) -> OrderResult:
    """The first result of ``key`` (stored); 409 if its body differed."""
    same_request(stored["request_hash"], body_hash, key)
    return _result(SimpleNamespace(**stored), replayed=True)


def find_by_key(stores: Stores, key: str, body_hash: str) -> OrderResult | None:
    """The order first placed with ``key`` (a replay), or None; 409 if its body differed."""
    stored = stores.orders.by_key(key)
    return None if stored is None else _replay(stored, key, body_hash)


def check_vouchers(stores: Stores, req: OrderRequest, period: int, policy: Policy,
                   ctx: OrderContext) -> None:
    """Refuse a voucher part the merchant or the channel does not allow, use the consumer's pay
    code up (refused unless it allows this sale), then settle the consumer and refuse a part
    its balance does not cover. In that order: nothing of the consumer is read without its code.
    """
    if not req.voucher_fen:
        return
    check_voucher_terms(policy, req.amount_fen, req.voucher_fen,
                        at_mall=ctx.merchant_channel == "mall", merchant_accepts=ctx.accepts_vouchers)
    if req.pay_code is None:
        raise InvalidInput("an order that spends vouchers needs the consumer's pay_code")
    pay_codes.use(stores.orders, req.pay_code, consumer_id=req.consumer_id, merchant_id=req.merchant_id,
                  voucher_fen=req.voucher_fen, key=req.idempotency_key)
    if ctx.consumer_frozen:
        raise PartyFrozen(f"consumer {req.consumer_id}'s vouchers are frozen for review: the "
                          "order cannot spend them (it may be paid in cash)")
    held = settle_holder(stores, req.consumer_id, period).balances[AccountKind.VOUCHERS]
    check_voucher_balance(req.voucher_fen, held)


def _check_vouchers_or_replay(stores: Stores, req: OrderRequest, body_hash: str, period: int,
                              policy: Policy, ctx: OrderContext) -> OrderResult | None:
    """Check the voucher part; if it fails because a request with the same key committed while
    this one waited for the pay code's row or the consumer's lock, return that first result
    instead (a replay)."""
    try:
        check_vouchers(stores, req, period, policy, ctx)
    except (InsufficientBalance, PayCodeRefused):
        replay = find_by_key(stores, req.idempotency_key, body_hash)
        if replay is None:
            raise
        return replay
    return None


def compute_order(req: OrderRequest, body_hash: str, period: OpenPeriod, policy: Policy,
                  ctx: OrderContext, first: bool) -> OrderRows:
    """Every row an order writes (pure: the waterfall, points, entry, holdings and counters)."""
    at_mall = ctx.merchant_channel == "mall"
    split = split_order(policy, req.amount_fen, ctx.merchant_rate, ctx.contract_rate,
                        ctx.beneficiaries)
    points = award_points(policy, req.amount_fen, split.concession_fen, first_order=first,
                          has_referrer=ctx.referrer_id is not None)
    cost = voucher_cost(policy, req.voucher_fen, at_mall=at_mall)
    amounts = OrderAmounts.of(split, req.voucher_fen, cost, points)
    referrer = ctx.referrer_id if points.referrer_cpts else None
    parts = [[a.part, a.recipient.value, a.party_id, a.amount_fen] for a in split.allocations]
    values: dict[str, Any] = {
        "idem_key": req.idempotency_key, "request_hash": body_hash,
        "consumer_id": req.consumer_id, "merchant_id": req.merchant_id,
        "channel": ctx.merchant_channel, "region_id": ctx.merchant_region, "period": period.seq,
        "policy_version_id": period.policy_version_id, "amount_fen": req.amount_fen,
        "voucher_fen": req.voucher_fen, "voucher_cost_fen": cost,
        "concession_fen": split.concession_fen, "concession_rate": str(ctx.merchant_rate),
        "contract_rate": str(ctx.contract_rate), "pool_fen": split.pool_fen,
        "allocations": json.dumps(parts),
        "consumer_cpts": points.consumer_cpts, "merchant_cpts": points.merchant_cpts,
        "referrer_id": referrer, "referrer_cpts": points.referrer_cpts, "refunded_fen": 0,
        "payment_ref": req.payment_ref, "device_id": req.device_id,
    }
    parties = OrderParties(req.consumer_id, req.merchant_id, referrer,
                           tuple(a.party_id for a in split.allocations), platform_parts(policy))
    entry = JournalEntry.build(EntryKind.ORDER, order_legs(amounts, parties), "order")
    assert entry is not None
    awards = merge_awards(holder_awards(policy, req.consumer_id, req.merchant_id, referrer, points))
    start = period.seq + 1
    per_group: dict[str, int] = {}
    for (_, m), p in awards.items():
        per_group[m] = per_group.get(m, 0) + p
    earned = cash_earnings((p.account, p.asset, p.amount) for p in entry.postings)
    return OrderRows(
        order=values, entry=entry, earnings=tuple(earned.items()),
        holdings=tuple((h, start, m, p) for (h, m), p in awards.items()),
        group_points=tuple((start, m, p) for m, p in per_group.items()),
        counters={"orders": 1, **order_counters(amounts, split.allocations, ctx.merchant_channel)},
        activate=ctx.last_active_period != period.seq,
        parts=tuple(tuple(p) for p in parts), referred_by=ctx.referrer_id if first else None)


def merge_awards(awards: Sequence[tuple[int | None, Decimal, int]]) -> dict[tuple[int, str], int]:
    """``(holder, multiple, points)`` merged per holding; absent holders and zeros dropped."""
    merged: dict[tuple[int, str], int] = {}
    for holder, multiple, pts in awards:
        if holder is None or not pts:
            continue
        key = (holder, str(multiple))
        merged[key] = merged.get(key, 0) + pts
    return merged


def write_orders(uow: Work, batch: Sequence[OrderRows],
                 rule: RiskRule | None = None) -> list[OrderResult]:
    """Write computed orders and record their ``order.placed`` events; their results. With a
    ``rule`` that caps velocity, an order over a cap is refused (``services.velocity``; the
    caller rolls back, as for any error here).

    The order store writes the orders and the events recorded so far with them
    (``OrderStore.write``): each order's event is recorded with its id as a slot, which the
    write fills in (on PostgreSQL one statement writes the whole batch and its events). An
    order written in a period that is no longer the open one is taken back and run again
    (:func:`confirm_period`).
    """
    capped = rule if rule is not None and rule.caps_velocity else None
    drafts = [_placed_result(0, rows) for rows in batch]  # 0: the id is not drawn yet
    with uow.outbox() as events:
        for draft, rows in zip(drafts, batch, strict=True):
            uow.record(order_placed(draft), slot=("order_id", rows.order["idem_key"]))
        written = uow.orders.write(
            batch, events, caps(capped) if capped is not None else None,
            lambda rows, counts: _refuse_over(capped, rows, counts) if capped is not None else None)
        for rows in batch:
            confirm_period(rows.order["period"], written.open_seq)
    return [replace(d, order_id=i) for d, i in zip(drafts, written.ids, strict=True)]


def _refuse_over(rule: RiskRule, rows: OrderRows, counts: tuple[int, int]) -> None:
    """Refuse the written order ``rows`` if the orders before it (``counts``) fill a cap."""
    order = rows.order
    refuse_over(rule, counts, consumer_id=order["consumer_id"], merchant_id=order["merchant_id"],
                period=order["period"])


def _placed_result(order_id: int, rows: OrderRows) -> OrderResult:
    """The result of an order written with id ``order_id``."""
    return _result(SimpleNamespace(id=order_id, **rows.order), replayed=False,
                   parts=rows.parts or None)


def order_placed(result: OrderResult) -> OrderPlaced:
    """The ``order.placed`` event of a placed order."""
    return OrderPlaced(
        period=result.period, order_id=result.order_id, consumer_id=result.consumer_id,
        merchant_id=result.merchant_id, channel=result.channel, amount_fen=result.amount_fen,
        voucher_fen=result.voucher_fen, concession_fen=result.concession_fen,
        pool_fen=result.pool_fen, consumer_cpts=result.consumer_cpts,
        merchant_cpts=result.merchant_cpts, referrer_id=result.referrer_id,
        referrer_cpts=result.referrer_cpts,
        allocations=tuple({"part": a["part"], "recipient": a["recipient"],
                           "party_id": a["party_id"], "amount_fen": a["amount_fen"]}
                          for a in result.allocations))


def place_order(uow: Work, req: OrderRequest) -> OrderResult:
    """Place one order in the unit of work (the caller commits).

    Steps: validate; the order store's first step (``OrderStore.begin``: the books lock shared,
    a used key's first result, the open period, the context, the consumer's first-order claim;
    one round trip on PostgreSQL); the consumer's velocity lock if the period's policy caps
    velocity and the first step did not take it; the vouchers (the period confirmed, the pay
    code used up); compute and write (``OrderStore.write``), checking the period and the
    velocity cap (``services.velocity``). The order's identifiers are stored with it, for the
    close's ring detectors (``services.rings``). An error raised after the write (the period
    closed meanwhile, a velocity cap reached) leaves it to the caller's rollback
    (``Platform.run``, the batch's savepoint) to take the write back.
    """
    req.validate()
    body_hash = request_hash(req.body())
    begun = uow.orders.begin(req.consumer_id, req.merchant_id, req.idempotency_key)
    if not isinstance(begun, OrderStart):
        return _replay(begun, req.idempotency_key, body_hash)
    period, ctx = begun.period, begun.context
    policy = uow.policies.version(period.policy_version_id)
    if policy.risk.caps_velocity and not begun.velocity_locked:
        uow.orders.lock_velocity(req.consumer_id)  # a policy version the first step did not know
    if req.voucher_fen:  # the claim is undone with the transaction if this refuses
        confirm_period(period.seq, uow.periods.open_period().seq)  # the first step's may be old
        replay = _check_vouchers_or_replay(uow, req, body_hash, period.seq, policy, ctx)
        if replay is not None:
            return replay
    rows = compute_order(req, body_hash, period, policy, ctx, begun.first)
    [result] = write_orders(uow, [rows], policy.risk)
    return result


def confirm_period(period: int, open_seq: int) -> None:
    """Refuse to go on with ``period`` if ``open_seq`` (read under the books lock) is another."""
    if open_seq != period:
        raise RetryTransaction(f"period {period} was closed while the order was read; retry")


def order_counters(amounts: OrderAmounts, allocations: Any, channel: str,
                   sign: int = 1) -> dict[str, int]:
    """The period counters an order (or, with ``sign=-1``, a refund) moves."""
    out = {
        "gmv_fen": amounts.gross_fen, f"gmv_fen:{channel}": amounts.gross_fen,
        "concession_fen": amounts.concession_fen, "pool_in_fen": amounts.pool_fen,
        "vouchers_spent_fen": amounts.voucher_fen, "voucher_cost_fen": amounts.voucher_cost_fen,
        "points_consumer_cpts": amounts.points.consumer_cpts,
        "points_merchant_cpts": amounts.points.merchant_cpts,
        "points_referral_cpts": amounts.points.referrer_cpts,
    }
    for alloc, amount in zip(allocations, amounts.parts_fen, strict=True):
        key = "vacant_to_pool_fen" if alloc.party_id is None else f"part:{alloc.part}"
        out[key] = out.get(key, 0) + amount
        if alloc.party_id is not None:  # what each recipient was paid (figures.PaidParts)
            paid = f"to:{alloc.recipient.value}"
            out[paid] = out.get(paid, 0) + amount
        if alloc.party_id is not None and alloc.recipient is not Recipient.PLATFORM:
            out["incentives_fen"] = out.get("incentives_fen", 0) + amount
    return {k: sign * v for k, v in out.items()}
