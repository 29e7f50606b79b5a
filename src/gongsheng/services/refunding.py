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

The refund runs on the stores (``services/ports/``): the order and its refunds are the order
store's, the holdings and the ledger theirs, and the locks the unit of work's.
"""

from __future__ import annotations

from dataclasses import dataclass

from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.events import OrderRefunded
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, system_account
from gongsheng.domain.orders import holder_awards, order_legs
from gongsheng.domain.refunds import RefundRecord
from gongsheng.services.holdings import Groups, take_back
from gongsheng.services.idempotency import check_key, positive_fen, request_hash, same_request
from gongsheng.services.ordering import order_counters
from gongsheng.services.ports.work import Work


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


def _replay(uow: Work, prior: RefundRecord) -> RefundResult:
    """The first result of a refund, recomputed exactly from the stored order and refunds."""
    order = uow.orders.order(prior.order_id)
    assert order is not None  # a refund's order is never deleted
    earlier = uow.orders.refunded_before(prior.order_id, prior.id)
    reversed_fen = order.reversal(earlier, prior.amount_fen).concession_fen
    return RefundResult(prior.id, prior.order_id, prior.amount_fen, earlier + prior.amount_fen,
                        reversed_fen, prior.clawback_fen, prior.platform_cover_fen, True)


def refund_order(uow: Work, order_id: int, amount_fen: int, key: str) -> RefundResult:
    """Refund ``amount_fen`` of an order (the caller commits).

    The adjustment locks come first, before the key lookup (a same-key retry waits, then
    replays): the order's holders (consumer, merchant, referrer), whose points and vouchers it
    takes back, and the pool, from which it takes at most what the order put in (its voucher
    part and the pool's share; ``OrderStore.lock_refund``). What is left to refund is read
    under the order's lock. The release groups its points are taken out of are locked next, in
    order, before the refund writes anything: refunds of one period's orders take from the same
    groups, and one that locked a group only at its first take-back, after writing rows another
    refund then needed, deadlocked with that refund waiting for the group.
    """
    check_key(key)
    positive_fen(amount_fen, "refund")
    uow.orders.lock_refund(order_id)  # no such order: refused below, after the key lookup
    body_hash = request_hash({"order_id": order_id, "amount_fen": amount_fen})
    prior = uow.orders.refund(key)
    if prior is not None:
        same_request(prior.request_hash, body_hash, key)
        return _replay(uow, prior)
    order = uow.orders.order(order_id, lock=True)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    if amount_fen > order.remaining_fen:
        raise InvalidInput(
            f"refund of {amount_fen} fen exceeds the {order.remaining_fen} fen of order {order_id} "
            "not yet refunded")
    policy = uow.policies.version(order.policy_version_id)
    period = uow.periods.open_period().seq
    delta = order.reversal(order.refunded_fen, amount_fen)
    start = order.period + 1
    awards = [(holder, multiple, pts) for holder, multiple, pts in holder_awards(
        policy, order.consumer_id, order.merchant_id, order.referrer_id, delta.points)
        if holder is not None and pts]
    groups: Groups = {  # locked before any write: see the docstring
        (start, str(multiple)): uow.holdings.group(start, multiple, lock=True)
        for multiple in sorted({m for _, m, _ in awards})}
    legs = order_legs(delta, order.parties, sign=-1)
    pool_change = sum(v for acc, _, v in legs if acc == system_account(AccountKind.POOL_AVAILABLE))
    cover = refund_cover(uow.ledger.system_balance(AccountKind.POOL_AVAILABLE), pool_change)
    if cover:
        legs += [(system_account(AccountKind.PLATFORM_REVENUE), Asset.CNY, -cover),
                 (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, cover)]
    refund_id = uow.orders.add_refund(key, body_hash, order_id, amount_fen, period, cover)
    entry = JournalEntry.build(EntryKind.REFUND, legs, f"refund {refund_id} of order {order_id}")
    assert entry is not None
    uow.orders.post_refund(entry, period, refund_id, order, amount_fen)
    clawback = 0
    for holder, multiple, pts in awards:
        clawback += take_back(uow, holder, start, multiple, pts, period, EntryKind.CLAWBACK, [],
                              groups)
    uow.orders.set_clawback(refund_id, clawback)
    counters = order_counters(delta, order.allocations, order.channel, sign=-1)
    uow.periods.add_counters(period, {
        "refunds_fen": amount_fen, "refunds": 1, "platform_cover_fen": cover,
        **{f"refunded:{k}": -v for k, v in counters.items()}})
    result = RefundResult(refund_id, order_id, amount_fen, order.refunded_fen + amount_fen,
                          delta.concession_fen, clawback, cover)
    uow.record(OrderRefunded(
        period=period, refund_id=refund_id, order_id=order_id, amount_fen=amount_fen,
        refunded_total_fen=result.refunded_total_fen,
        concession_reversed_fen=result.concession_reversed_fen, clawback_fen=clawback,
        platform_cover_fen=cover))
    return result


def refund_by_operator(uow: Work, order_id: int, amount_fen: int, key: str) -> RefundResult:
    """A refund an operator (an admin or a platform key) makes of a merchant's order: the same
    refund, recorded in the audit log with its actor (a replay records nothing more)."""
    result = refund_order(uow, order_id, amount_fen, key)
    if not result.replayed:
        uow.audit("order.refunded", f"order:{order_id}",
                  {"refund_id": result.refund_id, "amount_fen": amount_fen})
    return result
