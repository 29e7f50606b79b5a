"""Refunds: partial or full, idempotent, reversing every part of the order pro rata.

The reversal is the difference of two cumulative pro-rata scalings of the order
(:meth:`OrderAmounts.refunded_to`), so refunds that add up to the order reverse it exactly.
Points are taken out of their holdings; vouchers already released on them are taken back
(voucher debt where already spent). If the dividend pool cannot return its share (it was
released already), the platform covers the shortfall from its revenue; the refund records how
much it covered. Each party's cash reversal is attributed to the order's period, where holds
look for it (``domain.holds``). A refund's cover is what that refund takes from the pool beyond what the pool
holds, never more than its own share: a deficit the pool had before (a forced ``promise``
release) stays the pool's, reported as unfunded, and is not charged to the refund.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.earnings_store import earnings_rows
from gongsheng.adapters.ledger_store import balance, post
from gongsheng.adapters.order_store import refund_totals
from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.events import OrderRefunded
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, system_account
from gongsheng.domain.orders import OrderAmounts, OrderParties, PointsAward, order_legs
from gongsheng.domain.policy import Recipient
from gongsheng.domain.waterfall import Allocation
from gongsheng.services.books import add_counters, open_period, policy_version
from gongsheng.services.holdings import remove_points
from gongsheng.services.idempotency import check_key, positive_fen, prior_request
from gongsheng.services.ordering import order_counters
from gongsheng.services.unit_of_work import UnitOfWork

_stripes = random.Random()


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    order_id: int
    amount_fen: int
    refunded_total_fen: int
    concession_reversed_fen: int
    clawback_fen: int
    platform_cover_fen: int
    replayed: bool = False




def refund_cover(available: int, pool_change: int) -> int:
    """What the platform pays into the pool so that this refund can return its pool share.

    ``pool_change`` is the refund's movement of the available pool (negative: it takes back its
    share); the cover is the part of that share the pool does not hold, ``0 <= cover <= share``.
    """
    share = max(0, -pool_change)
    return min(share, max(0, share - max(0, available)))


def _order_amounts(order: Any) -> tuple[list[Allocation], OrderAmounts, tuple[bool, ...]]:
    """An order row's allocations, amounts and vacancies, as the refund arithmetic needs them."""
    allocations = [Allocation(p, Recipient(r), pid, a) for p, r, pid, a in json.loads(order.allocations)]
    amounts = OrderAmounts(
        order.amount_fen, order.voucher_fen, order.voucher_cost_fen, order.concession_fen,
        tuple(a.amount_fen for a in allocations), order.pool_fen,
        PointsAward(order.consumer_cpts, order.merchant_cpts, order.referrer_cpts))
    return allocations, amounts, tuple(a.vacant for a in allocations)


def _replay(conn: Connection, prior: Any) -> RefundResult:
    """The first result of a refund, recomputed exactly from the stored order and refunds."""
    order = conn.execute(select(t.orders).where(t.orders.c.id == prior.order_id)).one()
    earlier = int(conn.execute(
        select(func.coalesce(func.sum(t.refunds.c.amount_fen), 0)).where(
            t.refunds.c.order_id == prior.order_id, t.refunds.c.id < prior.id)).scalar_one())
    _, amounts, vacant = _order_amounts(order)
    total = earlier + int(prior.amount_fen)
    reversed_fen = (amounts.refunded_to(total, vacant).concession_fen
                    - amounts.refunded_to(earlier, vacant).concession_fen)
    return RefundResult(int(prior.id), int(prior.order_id), int(prior.amount_fen), total,
                        reversed_fen, int(prior.clawback_fen), int(prior.platform_cover_fen), True)


def _lock(uow: UnitOfWork, order_id: int) -> None:
    """Lock what a refund of the order checks: its holders (consumer, merchant, referrer), whose
    points and vouchers it takes back, and the pool, from which it takes at most what the order
    put in (its voucher part and the pool's share; ``UnitOfWork.lock_adjustments``)."""
    if not uow.postgres:
        return
    o = t.orders.c
    order = uow.conn.execute(select(o.consumer_id, o.merchant_id, o.referrer_id, o.voucher_fen,
                                    o.pool_fen).where(o.id == order_id)).first()
    if order is None:  # refused below, after the key lookup
        uow.lock_adjustments()
        return
    uow.lock_adjustments((order.consumer_id, order.merchant_id, order.referrer_id),
                         pool_take=int(order.voucher_fen) + int(order.pool_fen))


def refund_order(uow: UnitOfWork, order_id: int, amount_fen: int, key: str) -> RefundResult:
    """Refund ``amount_fen`` of an order (the caller commits)."""
    check_key(key)
    positive_fen(amount_fen, "refund")
    conn = uow.conn
    _lock(uow, order_id)  # before the key lookup: a same-key retry waits, then replays
    body_hash, prior = prior_request(conn, t.refunds, key,
                                     {"order_id": order_id, "amount_fen": amount_fen})
    if prior is not None:
        return _replay(conn, prior)
    query = select(t.orders).where(t.orders.c.id == order_id)
    order = conn.execute(query.with_for_update() if uow.postgres else query).first()
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    remaining = order.amount_fen - order.refunded_fen
    if amount_fen > remaining:
        raise InvalidInput(
            f"refund of {amount_fen} fen exceeds the {remaining} fen of order {order_id} "
            "not yet refunded")
    policy = policy_version(conn, order.policy_version_id)
    period = open_period(conn).seq
    allocations, amounts, vacant = _order_amounts(order)
    before = amounts.refunded_to(order.refunded_fen, vacant)
    after = amounts.refunded_to(order.refunded_fen + amount_fen, vacant)
    delta = after.minus(before)
    parties = OrderParties(order.consumer_id, order.merchant_id, order.referrer_id,
                           tuple(a.party_id for a in allocations),
                           tuple(a.recipient is Recipient.PLATFORM for a in allocations))
    legs = order_legs(delta, parties, sign=-1)
    pool_change = sum(v for acc, _, v in legs if acc == system_account(AccountKind.POOL_AVAILABLE))
    available = balance(conn, system_account(AccountKind.POOL_AVAILABLE), Asset.CNY)
    cover = refund_cover(available, pool_change)
    if cover:
        legs += [(system_account(AccountKind.PLATFORM_REVENUE), Asset.CNY, -cover),
                 (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, cover)]
    refund_id = int(conn.execute(insert(t.refunds).returning(t.refunds.c.id), {
        "idem_key": key, "request_hash": body_hash, "order_id": order_id,
        "amount_fen": amount_fen, "period": period, "platform_cover_fen": cover}).scalar_one())
    conn.execute(update(t.orders).where(t.orders.c.id == order_id)
                 .values(refunded_fen=order.refunded_fen + amount_fen))
    entry = JournalEntry.build(EntryKind.REFUND, legs, f"refund {refund_id} of order {order_id}")
    assert entry is not None
    # the reversal of each party's cash belongs to the order's period (domain.holds)
    held = earnings_rows(cash_earnings(legs), int(order.period), _stripes.randrange(t.STRIPES))
    post(conn, entry, period, refund_id, along=[held, refund_totals(
        order.merchant_id, order.period, period, amount_fen, entry, _stripes.randrange(t.STRIPES))])
    start = order.period + 1
    clawback = 0
    for holder, multiple, pts in (
        (order.consumer_id, policy.consumer_cap_multiple, delta.points.consumer_cpts),
        (order.merchant_id, policy.merchant_cap_multiple, delta.points.merchant_cpts),
        (order.referrer_id, policy.consumer_cap_multiple, delta.points.referrer_cpts),
    ):
        if holder is not None and pts:
            clawback += remove_points(conn, holder, start, Decimal(multiple), pts, period,
                                      EntryKind.CLAWBACK, [])
    conn.execute(update(t.refunds).where(t.refunds.c.id == refund_id)
                 .values(clawback_fen=clawback))
    counters = order_counters(delta, allocations, order.channel, sign=-1)
    add_counters(conn, period, {"refunds_fen": amount_fen, "refunds": 1, "platform_cover_fen": cover,
                                **{f"refunded:{k}": -v for k, v in counters.items()}})
    result = RefundResult(refund_id, order_id, amount_fen, order.refunded_fen + amount_fen,
                          delta.concession_fen, clawback, cover)
    uow.record(OrderRefunded(
        period=period, refund_id=refund_id, order_id=order_id, amount_fen=amount_fen,
        refunded_total_fen=result.refunded_total_fen,
        concession_reversed_fen=result.concession_reversed_fen, clawback_fen=clawback,
        platform_cover_fen=cover))
    return result


def refund_by_operator(uow: UnitOfWork, order_id: int, amount_fen: int, key: str) -> RefundResult:
    """A refund an operator (an admin or a platform key) makes of a merchant's order: the same
    refund, recorded in the audit log with its actor (a replay records nothing more)."""
    result = refund_order(uow, order_id, amount_fen, key)
    if not result.replayed:
        uow.audit("order.refunded", f"order:{order_id}",
                  {"refund_id": result.refund_id, "amount_fen": amount_fen})
    return result
