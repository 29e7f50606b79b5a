"""orders: points per MODEL.md, legs that always balance, refunds that reverse exactly."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.adapters.policy_file import default_policy_text
from gongsheng.domain.errors import InsufficientBalance, InvalidInput
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.orders import (
    Leg,
    OrderAmounts,
    OrderParties,
    PointsAward,
    award_points,
    cap_fen,
    check_voucher_part,
    order_legs,
    platform_parts,
    voucher_cost,
    voucher_limit,
)
from gongsheng.domain.policy import Policy, policy_from_mapping
from gongsheng.domain.waterfall import Beneficiaries, split_order

D = Decimal
CONSUMER, MERCHANT, REFERRER = 10, 11, 12


def per_asset(legs: list[Leg]) -> dict[Asset, int]:
    sums: dict[Asset, int] = defaultdict(int)
    for _, asset, amount in legs:
        sums[asset] += amount
    return dict(sums)


def assert_balanced(legs: list[Leg]) -> None:
    assert all(s == 0 for s in per_asset(legs).values()), per_asset(legs)
    JournalEntry.build(EntryKind.ORDER, legs)  # the ledger's own check must agree


def per_account(legs: list[Leg]) -> dict[tuple[int, Asset], int]:
    out: dict[tuple[int, Asset], int] = defaultdict(int)
    for acc, asset, amount in legs:
        out[(acc, asset)] += amount
    return {k: v for k, v in out.items() if v}


# --- points ---------------------------------------------------------------------------------


def test_award_points_of_the_worked_example(policy: Policy) -> None:
    # G = 1000.00 yuan at r = 20%: C = 200.00 yuan -> 200 points each (centi-points), B gets 5% of G
    award = award_points(policy, 1000_00, 200_00, first_order=True, has_referrer=True)
    assert award == PointsAward(consumer_cpts=200 * 100, merchant_cpts=200 * 100, referrer_cpts=50 * 100)
    # caps: consumer 5x -> 1000.00 yuan, merchant 2.25x -> 450.00, referrer 5x -> 250.00
    assert cap_fen(award.consumer_cpts, policy.consumer_cap_multiple) == 1000_00
    assert cap_fen(award.merchant_cpts, policy.merchant_cap_multiple) == 450_00
    assert cap_fen(award.referrer_cpts, policy.consumer_cap_multiple) == 250_00


@pytest.mark.parametrize(("first", "referrer"), [(False, True), (True, False), (False, False)])
def test_referral_points_only_on_a_referred_first_order(policy: Policy, first: bool, referrer: bool) -> None:
    award = award_points(policy, 1000_00, 200_00, first_order=first, has_referrer=referrer)
    assert award == PointsAward(200_00, 200_00, 0)


def test_disabled_referral_pays_nothing(policy_data: dict[str, Any]) -> None:
    policy_data["referral"]["enabled"] = False
    policy = policy_from_mapping(policy_data)
    assert award_points(policy, 1000_00, 200_00, first_order=True, has_referrer=True).referrer_cpts == 0


@given(st.integers(0, 10**10), st.integers(0, 10**9))
def test_points_equal_the_concession_and_referral_is_5_percent_half_up(
    policy: Policy, gross: int, conc: int
) -> None:
    award = award_points(policy, gross, conc, first_order=True, has_referrer=True)
    assert award.consumer_cpts == award.merchant_cpts == conc
    assert award.referrer_cpts == (gross * 5 + 50) // 100


# --- vouchers -------------------------------------------------------------------------------


def test_voucher_limits_and_costs(policy: Policy) -> None:
    assert voucher_limit(policy, 1000_01, at_mall=False) == 1000_01        # 100% at merchants
    assert voucher_limit(policy, 1000_01, at_mall=True) == 500_01          # 50% of 100001, half up
    assert voucher_cost(policy, 100_00, at_mall=False) == 100_00           # face value
    assert voucher_cost(policy, 100_00, at_mall=True) == 60_00             # 0.6 of face
    assert voucher_cost(policy, 5, at_mall=True) == 3                      # 3.0
    assert voucher_cost(policy, 3, at_mall=True) == 2                      # 1.8 -> 2


def test_check_voucher_part(policy: Policy) -> None:
    ok = {"at_mall": False, "merchant_accepts": True}
    check_voucher_part(policy, 100_00, 0, 0, at_mall=False, merchant_accepts=False)  # nothing spent
    check_voucher_part(policy, 100_00, 100_00, 100_00, **ok)
    with pytest.raises(InvalidInput, match="negative"):
        check_voucher_part(policy, 100_00, -1, 100, **ok)
    with pytest.raises(InvalidInput, match="does not accept"):
        check_voucher_part(policy, 100_00, 1, 100, at_mall=False, merchant_accepts=False)
    with pytest.raises(InvalidInput, match="exceeds"):
        check_voucher_part(policy, 100_00, 50_01, 10**6, at_mall=True, merchant_accepts=True)
    with pytest.raises(InsufficientBalance):
        check_voucher_part(policy, 100_00, 50_00, 49_99, **ok)


# --- orders as legs -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderParams:
    """What a generated order is made of."""

    gross: int
    rate: Decimal
    contract: Decimal
    present: tuple[bool, bool, bool, bool]  # partner, promoter, BM, home merchant
    at_mall: bool
    voucher_share: int  # percent of the voucher limit paid in vouchers
    first: bool
    referrer: bool


@dataclass(frozen=True)
class Order:
    amounts: OrderAmounts
    parties: OrderParties
    vacant: tuple[bool, ...]
    at_mall: bool


DEFAULT_POLICY = policy_from_mapping(tomllib.loads(default_policy_text()))
WORKED = OrderParams(1000_00, D("0.20"), D("0.01"), (True, True, True, True), False, 0, True, True)

order_params = st.builds(
    OrderParams,
    gross=st.integers(1, 10**9),
    rate=st.integers(300, 2000).map(lambda bp: D(bp).scaleb(-4)),
    contract=st.integers(100, 300).map(lambda bp: D(bp).scaleb(-4)),
    present=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    at_mall=st.booleans(),
    voucher_share=st.integers(0, 100),
    first=st.booleans(),
    referrer=st.booleans(),
).filter(lambda p: DEFAULT_POLICY.feasible(p.rate, p.contract))  # the only contracts ever signed


def make_order(policy: Policy, p: OrderParams) -> Order:
    partner, promoter, bm, home = p.present
    who = Beneficiaries(1, 2 if partner else None, 3 if promoter else None, 4 if bm else None,
                        5 if home else None)
    split = split_order(policy, p.gross, p.rate, p.contract, who)
    voucher = voucher_limit(policy, p.gross, at_mall=p.at_mall) * p.voucher_share // 100
    points = award_points(policy, p.gross, split.concession_fen, first_order=p.first,
                          has_referrer=p.referrer)
    amounts = OrderAmounts.of(split, voucher, voucher_cost(policy, voucher, at_mall=p.at_mall), points)
    parties = OrderParties(
        consumer=CONSUMER,
        merchant=MERCHANT,
        referrer=REFERRER if p.referrer else None,
        recipients=tuple(a.party_id for a in split.allocations),
        platform_parts=platform_parts(policy),
    )
    return Order(amounts, parties, tuple(a.vacant for a in split.allocations), p.at_mall)


@given(order_params, st.sampled_from([1, -1]))
@settings(max_examples=200)
def test_order_legs_balance_per_asset(policy: Policy, params: OrderParams, sign: int) -> None:
    order = make_order(policy, params)
    legs = order_legs(order.amounts, order.parties, sign)
    assert_balanced(legs)
    # and they move what MODEL.md says, to the fen
    a, balances = order.amounts, per_account(legs)

    def got(acc: int, asset: Asset) -> int:
        return balances.get((acc, asset), 0)

    assert got(account_id(CONSUMER, AccountKind.POINTS), Asset.PTS) == sign * a.concession_fen
    assert got(account_id(MERCHANT, AccountKind.POINTS), Asset.PTS) == sign * a.concession_fen
    referral = a.points.referrer_cpts if order.parties.referrer else 0
    assert got(account_id(REFERRER, AccountKind.POINTS), Asset.PTS) == sign * referral
    assert got(account_id(CONSUMER, AccountKind.VOUCHERS), Asset.VCH) == -sign * a.voucher_fen
    assert got(system_account(AccountKind.CASH_IN), Asset.CNY) == -sign * (a.gross_fen - a.voucher_fen)
    settled = a.gross_fen - a.concession_fen
    if order.at_mall:
        settled -= a.voucher_fen - a.voucher_cost_fen  # the pool pays only the goods' cost share
    assert got(account_id(MERCHANT, AccountKind.CASH), Asset.CNY) == sign * settled
    assert got(system_account(AccountKind.PLATFORM_REVENUE), Asset.CNY) == sign * a.parts_fen[0]


def test_worked_example_legs(policy: Policy) -> None:
    order = make_order(policy, WORKED)
    balances = per_account(order_legs(order.amounts, order.parties))
    assert balances[(system_account(AccountKind.POOL_AVAILABLE), Asset.CNY)] == 90_00
    assert balances[(system_account(AccountKind.PLATFORM_REVENUE), Asset.CNY)] == 40_00
    assert [balances[(account_id(p, AccountKind.CASH), Asset.CNY)] for p in (2, 3, 4, 5)] == [
        30_00, 20_00, 10_00, 10_00,
    ]
    assert balances[(account_id(MERCHANT, AccountKind.CASH), Asset.CNY)] == 800_00
    assert balances[(system_account(AccountKind.POINTS_ISSUED), Asset.PTS)] == -(200 + 200 + 50) * 100


# --- refunds ------------------------------------------------------------------------------


def add(x: OrderAmounts, y: OrderAmounts) -> OrderAmounts:
    """Field-wise sum, written out here rather than borrowed from the code under test."""
    return OrderAmounts(
        x.gross_fen + y.gross_fen,
        x.voucher_fen + y.voucher_fen,
        x.voucher_cost_fen + y.voucher_cost_fen,
        x.concession_fen + y.concession_fen,
        tuple(a + b for a, b in zip(x.parts_fen, y.parts_fen, strict=True)),
        x.pool_fen + y.pool_fen,
        PointsAward(x.points.consumer_cpts + y.points.consumer_cpts,
                    x.points.merchant_cpts + y.points.merchant_cpts,
                    x.points.referrer_cpts + y.points.referrer_cpts),
    )


def zero_like(x: OrderAmounts) -> OrderAmounts:
    return OrderAmounts(0, 0, 0, 0, (0,) * len(x.parts_fen), 0, PointsAward(0, 0, 0))


@st.composite
def refund_plans(draw: st.DrawFn) -> tuple[OrderParams, list[int]]:
    params = draw(order_params)
    gross = params.gross
    cuts = draw(st.lists(st.integers(1, max(1, gross - 1)), max_size=6, unique=True))
    cumulative = [*sorted(c for c in cuts if c < gross), gross]
    return params, cumulative


@given(refund_plans())
@settings(max_examples=200, deadline=None)
def test_partial_refunds_reverse_the_order_exactly(
    policy: Policy, plan: tuple[OrderParams, list[int]]
) -> None:
    params, cumulative = plan
    order = make_order(policy, params)
    amounts = order.amounts

    total = zero_like(amounts)
    all_legs = order_legs(amounts, order.parties, 1)
    previous = amounts.refunded_to(0, order.vacant)
    assert previous == zero_like(amounts)
    for cum in cumulative:
        current = amounts.refunded_to(cum, order.vacant)
        delta = current.minus(previous)
        assert delta.gross_fen == cum - (previous.gross_fen)
        legs = order_legs(delta, order.parties, -1)
        assert_balanced(legs)
        all_legs += legs
        total = add(total, delta)
        previous = current

    assert total == amounts  # every field, to the fen, however the refunds were cut
    # order then refunds: every balance exactly as before the order
    assert per_account(all_legs) == {}


@given(refund_plans())
@settings(max_examples=100)
def test_cumulative_refunds_stay_within_the_order(
    policy: Policy, plan: tuple[OrderParams, list[int]]
) -> None:
    params, cumulative = plan
    order = make_order(policy, params)
    a = order.amounts
    for cum in cumulative:
        r = a.refunded_to(cum, order.vacant)
        assert 0 <= r.concession_fen <= a.concession_fen
        assert 0 <= r.pool_fen <= a.pool_fen
        assert all(0 <= x <= y for x, y in zip(r.parts_fen, a.parts_fen, strict=True))
        assert 0 <= r.points.consumer_cpts <= a.points.consumer_cpts
        assert 0 <= r.voucher_fen <= a.voucher_fen
        paid = sum(x for x, v in zip(r.parts_fen, order.vacant, strict=True) if not v)
        assert paid + r.pool_fen == r.concession_fen


@pytest.mark.parametrize("refunded", [-1, 1000_01])
def test_refund_outside_the_order_is_refused(policy: Policy, refunded: int) -> None:
    order = make_order(policy, WORKED)
    with pytest.raises(InvalidInput):
        order.amounts.refunded_to(refunded, order.vacant)


def test_half_refund_of_the_worked_example(policy: Policy) -> None:
    order = make_order(policy, WORKED)
    half = order.amounts.refunded_to(500_00, order.vacant)
    assert half.concession_fen == 100_00
    assert half.parts_fen == (20_00, 15_00, 10_00, 5_00, 5_00)
    assert half.pool_fen == 45_00
    assert half.points == PointsAward(100_00, 100_00, 25_00)
