"""Refunds on the stores, against the in-memory unit of work (no database).

Placing an order is not on the stores, so the fake's books are given an order here the way the
order path writes one (the waterfall, points and legs of ``domain.orders``, its holdings,
earnings and counters); refunds then run through ``services.refunding`` as they do on the
database (``tests/integration/test_fake_agrees.py`` holds the two to each other).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.errors import IdempotencyConflict, InvalidInput, NotFound
from gongsheng.domain.events import OrderRefunded
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.orders import award_points, order_legs, voucher_cost
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.refunds import OrderRecord
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.services import periods, refunding
from gongsheng.services.holdings import settle_holder
from gongsheng.services.ordering import order_counters

from .fakes import FakeLedger, FakePeriods
from .test_use_cases import Books, asset_sums, open_books

POOL = system_account(AccountKind.POOL_AVAILABLE)


def place(b: Books, amount: int, *, voucher: int = 0, referrer: int | None = None) -> OrderRecord:
    """An order of ``amount`` by the consumer at the merchant in the open period, with what the
    order path writes for it: its entry, its points' holdings (starting next period), the cash
    it earned its recipients in its period, and its counters."""
    books = b.books
    seq = max(p.seq for p in books.periods.values() if p.status == "open")
    policy = books.policies[books.periods[seq].policy_version_id]
    partner = next((p for p, k in books.parties.items() if k == "partner"), None)
    split = split_order(policy, amount, Decimal("0.20"), Decimal("0.02"),
                        Beneficiaries(1, partner, None, None, None))
    points = award_points(policy, amount, split.concession_fen, first_order=True,
                          has_referrer=referrer is not None)
    order = OrderRecord(
        max(books.orders, default=0) + 1, b.consumer, b.merchant,
        referrer if points.referrer_cpts else None, "brand", seq, 1, amount, voucher,
        voucher_cost(policy, voucher, at_mall=False), split.concession_fen, split.pool_fen,
        split.allocations, points.consumer_cpts, points.merchant_cpts, points.referrer_cpts)
    legs = order_legs(order.amounts, order.parties)
    entry = JournalEntry.build(EntryKind.ORDER, legs, "order")
    assert entry is not None
    FakeLedger(books).post(entry, seq, order.id)
    for holder, multiple, pts in ((order.consumer_id, policy.consumer_cap_multiple, order.consumer_cpts),
                                  (order.merchant_id, policy.merchant_cap_multiple, order.merchant_cpts),
                                  (order.referrer_id, policy.consumer_cap_multiple, order.referrer_cpts)):
        if holder is not None and pts:
            books.holdings.setdefault((holder, seq + 1, Decimal(multiple)), [0, 0])[0] += pts
            group = (seq + 1, Decimal(multiple))
            books.group_points[group] = books.group_points.get(group, 0) + pts
    for party, fen in cash_earnings(legs).items():
        books.earnings[(party, seq)] = books.earnings.get((party, seq), 0) + fen
    FakePeriods(books).add_counters(seq, {"orders": 1, **order_counters(
        order.amounts, order.allocations, order.channel)})
    books.orders[order.id] = order
    return order


@pytest.fixture
def b(policy: Policy) -> Books:
    books = open_books(policy)
    books.books.add_party("partner")
    return books


def refund(b: Books, order: OrderRecord | int, amount: int, key: str) -> refunding.RefundResult:
    order_id = order if isinstance(order, int) else order.id
    result: refunding.RefundResult = b.run(refunding.refund_order, order_id, amount, key)
    return result


# --- what a refund reverses ---------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(amount=st.integers(100, 2_000_000), cuts=st.lists(st.integers(1, 10_000), min_size=1,
                                                           max_size=6),
       referred=st.booleans())
def test_refunds_adding_up_to_the_order_reverse_it_exactly(policy: Policy, amount: int,
                                                           cuts: list[int], referred: bool) -> None:
    b = open_books(policy)
    b.books.add_party("partner")
    before = copy.deepcopy(b.books.balances)
    order = place(b, amount, referrer=b.other if referred else None)
    whole = sum(cuts)
    parts = [amount * c // whole for c in cuts]
    parts[-1] += amount - sum(parts)
    results = [refund(b, order, p, f"r-{i}") for i, p in enumerate(parts) if p]
    assert [r.refunded_total_fen for r in results] == [
        sum(p for p in parts[: i + 1] if p) for i, p in enumerate(parts) if p]
    assert results[-1].refunded_total_fen == amount == b.books.orders[order.id].refunded_fen
    assert sum(r.concession_reversed_fen for r in results) == order.concession_fen
    assert b.books.balances == before  # every leg of the order reversed, to the fen
    assert all(v == 0 for v in b.books.earnings.values())
    assert all(pts == 0 for pts, _ in b.books.holdings.values())
    assert all(v == 0 for v in b.books.group_points.values())
    counters = order_counters(order.amounts, order.allocations, order.channel)
    for name, v in counters.items():
        assert b.books.counters.get((1, f"refunded:{name}"), 0) == v, name
    assert b.books.counters[(1, "refunds_fen")] == amount
    assert b.books.counters[(1, "refunds")] == len(results)
    assert [e for e in b.books.events if isinstance(e, OrderRefunded)] == [
        OrderRefunded(period=1, refund_id=r.refund_id, order_id=order.id, amount_fen=r.amount_fen,
                      refunded_total_fen=r.refunded_total_fen,
                      concession_reversed_fen=r.concession_reversed_fen, clawback_fen=0,
                      platform_cover_fen=0) for r in results]


def test_a_partial_refund_reverses_its_share_and_stores_the_refund(b: Books) -> None:
    order = place(b, 100_000, voucher=0)
    merchant_cash = b.cash(b.merchant)
    done = refund(b, order, 25_000, "r-1")
    assert (done.amount_fen, done.refunded_total_fen, done.replayed) == (25_000, 25_000, False)
    assert done.concession_reversed_fen == order.concession_fen // 4
    assert b.cash(b.merchant) == merchant_cash - (25_000 - order.concession_fen // 4)
    stored = b.books.refunds["r-1"]
    assert (stored.id, stored.order_id, stored.amount_fen, stored.period) == (
        done.refund_id, order.id, 25_000, 1)
    assert b.books.entries[-1][1:] == (1, done.refund_id)
    assert all(v == 0 for v in asset_sums(b.books).values())


def test_the_refund_locks_the_orders_holders_and_the_pool(b: Books) -> None:
    order = place(b, 100_000, referrer=b.other)
    with b.uow() as uow:
        refunding.refund_order(uow, order.id, 10_000, "r-1")
        assert uow.locks == [("adjust", (b.consumer, b.merchant, b.other))]


# --- refusals and replays -----------------------------------------------------------------------

def test_a_refund_beyond_what_is_left_is_refused_and_changes_nothing(b: Books) -> None:
    order = place(b, 100_000)
    refund(b, order, 60_000, "r-1")
    before = copy.deepcopy(b.books)
    with pytest.raises(InvalidInput, match="exceeds the 40000 fen of order"):
        refund(b, order, 40_001, "r-2")
    assert b.books == before
    assert refund(b, order, 40_000, "r-3").refunded_total_fen == 100_000
    with pytest.raises(InvalidInput, match="exceeds the 0 fen"):
        refund(b, order, 1, "r-4")


def test_a_refund_of_no_order_is_not_found(b: Books) -> None:
    before = copy.deepcopy(b.books)
    with b.uow() as uow, pytest.raises(NotFound, match="order 42 does not exist"):
        try:
            refunding.refund_order(uow, 42, 1_000, "r-1")
        finally:
            assert uow.locks == [("adjust", ())]
    assert b.books == before


@pytest.mark.parametrize("amount, key", [(0, "r-1"), (-5, "r-1"), (1_000, ""), (1_000, " ")])
def test_a_refund_needs_a_positive_amount_and_a_key(b: Books, amount: int, key: str) -> None:
    order = place(b, 100_000)
    with pytest.raises(InvalidInput):
        refund(b, order, amount, key)
    assert b.books.refunds == {}


def test_a_replay_returns_the_first_result_and_records_nothing(b: Books) -> None:
    order = place(b, 100_000)
    first = refund(b, order, 30_000, "r-1")
    second = refund(b, order, 30_000, "r-2")
    events, entries, counters = list(b.books.events), list(b.books.entries), dict(b.books.counters)
    assert refund(b, order, 30_000, "r-1") == replace(first, replayed=True)
    assert refund(b, order, 30_000, "r-2") == replace(second, replayed=True)
    assert second.refunded_total_fen == 60_000
    assert (b.books.events, b.books.entries, b.books.counters) == (events, entries, counters)
    assert b.books.orders[order.id].refunded_fen == 60_000
    with pytest.raises(IdempotencyConflict):
        refund(b, order, 10_000, "r-1")
    with pytest.raises(IdempotencyConflict):
        refund(b, 42, 30_000, "r-1")


def test_an_operators_refund_is_audited_once(b: Books) -> None:
    order = place(b, 100_000)
    done = b.run(refunding.refund_by_operator, order.id, 5_000, "r-1")
    again = b.run(refunding.refund_by_operator, order.id, 5_000, "r-1")
    assert again == replace(done, replayed=True)
    assert [(a.action, a.target, a.changes) for a in b.books.audits] == [
        ("order.refunded", f"order:{order.id}", {"refund_id": done.refund_id, "amount_fen": 5_000})]


def test_a_refund_not_committed_leaves_nothing(b: Books) -> None:
    order = place(b, 100_000)
    before = copy.deepcopy(b.books)
    with b.uow() as uow:
        refunding.refund_order(uow, order.id, 100_000, "r-1")
        assert uow.books.orders[order.id].refunded_fen == 100_000  # seen inside
    assert b.books == before


# --- the pool's cover and the vouchers taken back -----------------------------------------------

def _release_pool(b: Books, keep: int) -> None:
    """Move all but ``keep`` of the available pool to the reserve (as releases do)."""
    out = b.system(AccountKind.POOL_AVAILABLE) - keep
    b.books.move([(POOL, Asset.CNY, -out),
                  (system_account(AccountKind.POOL_RESERVED), Asset.CNY, out)])


@pytest.mark.parametrize("keep", [0, 1_000, -500])
def test_the_platform_covers_what_the_released_pool_cannot_return(b: Books, keep: int) -> None:
    order = place(b, 100_000)
    share = order.pool_fen  # no voucher part: the pool's share is all a full refund takes
    assert share > 1_000
    _release_pool(b, keep)
    revenue = b.system(AccountKind.PLATFORM_REVENUE)
    done = refund(b, order, 100_000, "r-1")
    cover = share - max(0, keep)  # a deficit the pool had before stays the pool's
    assert done.platform_cover_fen == cover == b.books.refunds["r-1"].platform_cover_fen
    assert refund(b, order, 100_000, "r-1") == replace(done, replayed=True)
    assert b.system(AccountKind.POOL_AVAILABLE) == keep - share + cover == min(keep, 0)
    assert b.system(AccountKind.PLATFORM_REVENUE) == revenue - _platform_parts(order) - cover
    assert b.books.counters[(1, "platform_cover_fen")] == cover
    assert all(v == 0 for v in asset_sums(b.books).values())


def _platform_parts(order: OrderRecord) -> int:
    """What the order paid the platform's revenue (its waterfall parts to the platform)."""
    return sum(a.amount_fen for a in order.allocations
               if a.recipient is Recipient.PLATFORM and not a.vacant)


def test_a_pool_that_holds_the_share_needs_no_cover(b: Books) -> None:
    order = place(b, 100_000)
    _release_pool(b, order.pool_fen)
    assert refund(b, order, 100_000, "r-1").platform_cover_fen == 0
    assert b.system(AccountKind.POOL_AVAILABLE) == 0


def _released_to(b: Books, order: OrderRecord) -> int:
    """Close periods 1 and 2 (the order's points start to release at the second close) and
    settle its holders; the vouchers they were paid."""
    b.run(periods.close_period)
    b.run(periods.close_period)
    return sum(b.run(settle_holder, h, 3).fen for h in order.holders)


def test_a_refund_takes_back_the_vouchers_its_points_released(b: Books) -> None:
    order = place(b, 200_000)
    paid = _released_to(b, order)
    assert paid > 0
    done = refund(b, order, 200_000, "r-1")
    assert done.clawback_fen == paid == b.books.refunds["r-1"].clawback_fen
    assert refund(b, order, 200_000, "r-1") == replace(done, replayed=True)
    for holder in order.holders:
        assert b.books.balance(holder, AccountKind.VOUCHERS) == 0
        assert b.books.balance(holder, AccountKind.VOUCHER_DEBT) == 0
        assert b.books.balance(holder, AccountKind.POINTS) == 0
    assert all(pts == settled == 0 for pts, settled in b.books.holdings.values())
    assert b.books.events[-1] == OrderRefunded(
        period=3, refund_id=done.refund_id, order_id=order.id, amount_fen=200_000,
        refunded_total_fen=200_000, concession_reversed_fen=order.concession_fen,
        clawback_fen=paid, platform_cover_fen=done.platform_cover_fen)
    assert all(v == 0 for v in asset_sums(b.books).values())


def test_vouchers_already_spent_are_taken_back_as_debt(b: Books) -> None:
    order = place(b, 200_000)
    _released_to(b, order)
    spent = b.books.balance(b.consumer, AccountKind.VOUCHERS)
    assert spent > 0
    b.books.move([(account_id(b.consumer, AccountKind.VOUCHERS), Asset.VCH, -spent),
                  (system_account(AccountKind.VOUCHERS_REDEEMED), Asset.VCH, spent)])
    done = refund(b, order, 200_000, "r-1")
    assert b.books.balance(b.consumer, AccountKind.VOUCHER_DEBT) == -spent
    assert b.books.balance(b.consumer, AccountKind.VOUCHERS) == 0
    assert done.clawback_fen >= spent


def test_a_partial_refund_after_release_takes_back_its_share_of_the_vouchers(b: Books) -> None:
    order = place(b, 200_000)
    paid = _released_to(b, order)
    first = refund(b, order, 50_000, "r-1")
    rest = refund(b, order, 150_000, "r-2")
    assert 0 < first.clawback_fen < paid
    assert first.clawback_fen + rest.clawback_fen == paid
    assert first.concession_reversed_fen + rest.concession_reversed_fen == order.concession_fen
