"""Orders and refunds on SQLite and PostgreSQL: MODEL.md sections 3, 5 and 9 to the fen."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import (
    AlreadyHeld,
    GongshengError,
    IdempotencyConflict,
    InfeasibleSplit,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    PayCodeRefused,
)
from gongsheng.domain.ledger import PLATFORM_PARTY_ID, AccountKind, Asset, account_id, system_account
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms

from .helpers import assert_verified, asset_sums, count_rows, entry_count, held, snapshot

if TYPE_CHECKING:
    from conftest import City

CNY, PTS = Asset.CNY, Asset.PTS


def acc(party: int, kind: AccountKind) -> tuple[int, Asset]:
    return account_id(party, kind), kind.asset


def sys_acc(kind: AccountKind) -> tuple[int, Asset]:
    return system_account(kind), kind.asset


def postings_of(plat: Platform, kind: str, ref_ids: list[int]) -> dict[tuple[int, Asset], int]:
    """Net postings per (account, asset) of the entries of ``kind`` recording ``ref_ids``."""
    p, e = t.postings, t.journal_entries
    with plat.engine.connect() as conn:
        rows = conn.execute(select(p.c.account_id, p.c.asset, p.c.amount)
                            .join(e, e.c.id == p.c.entry_id)
                            .where(e.c.kind == kind, e.c.ref_id.in_(ref_ids))).all()
    out: dict[tuple[int, Asset], int] = defaultdict(int)
    for account, asset, amount in rows:
        out[(int(account), Asset(asset))] += int(amount)
    return {k: v for k, v in out.items() if v}


# --- the worked example (MODEL.md section 9) ---------------------------------------------------


def test_worked_example_to_the_fen(city: City) -> None:
    plat = city.platform
    order = city.order(100_000)  # A spends 1000.00 yuan at M

    assert order.concession_rate == "0.20"
    assert order.concession_fen == 20_000
    parts = {a["part"]: (a["party_id"], a["amount_fen"]) for a in order.allocations}
    assert parts == {
        "platform_fee": (PLATFORM_PARTY_ID, 4_000),
        "partner_dividend": (city.partner, 3_000),
        "ground_commission": (city.promoter, 2_000),
        "bm_commission": (city.bm, 1_000),
        "acquisition_reward": (city.home, 1_000),
    }
    assert order.pool_fen == 9_000
    assert (order.consumer_cpts, order.merchant_cpts) == (20_000, 20_000)  # 200 points each
    assert (order.referrer_id, order.referrer_cpts) == (city.referrer, 5_000)  # 50 points

    # the whole trial balance, nothing excluded
    assert plat.trial_balance() == {
        sys_acc(AccountKind.CASH_IN): -100_000,
        sys_acc(AccountKind.PLATFORM_REVENUE): 4_000,
        sys_acc(AccountKind.POOL_AVAILABLE): 9_000,
        sys_acc(AccountKind.POINTS_ISSUED): -45_000,
        acc(city.merchant, AccountKind.CASH): 80_000,
        acc(city.partner, AccountKind.CASH): 3_000,
        acc(city.promoter, AccountKind.CASH): 2_000,
        acc(city.bm, AccountKind.CASH): 1_000,
        acc(city.home, AccountKind.CASH): 1_000,
        acc(city.consumer, AccountKind.POINTS): 20_000,
        acc(city.merchant, AccountKind.POINTS): 20_000,
        acc(city.referrer, AccountKind.POINTS): 5_000,
    }

    # caps: A 1000.00, M 450.00, B 250.00 of vouchers, starting to release next period
    for party, points, cap in ((city.consumer, 20_000, 100_000), (city.merchant, 20_000, 45_000),
                               (city.referrer, 5_000, 25_000)):
        wallet = plat.wallet(party)
        assert wallet.points_cpts == points
        assert wallet.vouchers_fen == 0
        assert [(h["start_period"], h["points_cpts"], h["cap_fen"], h["released_fen"])
                for h in wallet.holdings] == [(2, points, cap, 0)]
    assert plat.wallet(city.partner).cash_fen == 3_000
    assert_verified(plat)


def test_referral_points_on_the_first_order_only(city: City) -> None:
    first = city.order(100_000)
    second = city.order(50_000)
    assert first.referrer_cpts == 5_000
    assert (second.referrer_id, second.referrer_cpts) == (None, 0)
    assert second.concession_fen == 10_000 and second.consumer_cpts == 10_000
    assert city.platform.wallet(city.referrer).points_cpts == 5_000
    assert city.platform.wallet(city.consumer).points_cpts == 30_000
    assert_verified(city.platform)


def test_vacant_roles_are_paid_to_the_pool(platform: Platform) -> None:
    """No partner, no promoter, no BM, no home merchant: all but the platform fee goes to the pool."""
    region = platform.region("Nowhere")
    merchant = platform.merchant(MerchantTerms("Lonely", "catering", "alliance", region, "0.20"))
    consumer = platform.consumer("Solo", None, merchant)  # its home merchant is the seller itself
    order = platform.order(OrderRequest(consumer, merchant, 100_000, 0, "vacant"))
    assert order.concession_fen == 20_000
    assert [a["vacant"] for a in order.allocations] == [False, True, True, True, True]
    assert order.pool_fen == 16_000
    assert order.referrer_cpts == 0
    tb = platform.trial_balance()
    assert tb[sys_acc(AccountKind.POOL_AVAILABLE)] == 16_000
    assert tb[sys_acc(AccountKind.PLATFORM_REVENUE)] == 4_000
    assert_verified(platform)


# --- idempotency -------------------------------------------------------------------------------


def test_same_key_same_body_replays_and_posts_once(city: City) -> None:
    plat = city.platform
    req = OrderRequest(city.consumer, city.merchant, 100_000, 0, "order-once")
    first = plat.order(req)
    after_first = snapshot(plat)
    again = plat.order(req)
    assert again.replayed and not first.replayed
    assert again.order_id == first.order_id
    assert (again.concession_fen, again.allocations, again.referrer_cpts) == (
        first.concession_fen, first.allocations, first.referrer_cpts)
    assert snapshot(plat) == after_first
    assert count_rows(plat, t.orders) == 1
    assert len(postings_of(plat, "order", [first.order_id])) == 12  # one entry, posted once

    with pytest.raises(IdempotencyConflict):
        plat.order(OrderRequest(city.consumer, city.merchant, 100_001, 0, "order-once"))
    assert snapshot(plat) == after_first
    assert_verified(plat)


def test_refund_idempotency(city: City) -> None:
    plat = city.platform
    order = city.order(100_000)
    first = plat.refund(order.order_id, 40_000, "refund-1")
    after = snapshot(plat)
    again = plat.refund(order.order_id, 40_000, "refund-1")
    assert again.replayed and again.refund_id == first.refund_id
    assert again.refunded_total_fen == 40_000
    assert snapshot(plat) == after
    with pytest.raises(IdempotencyConflict):
        plat.refund(order.order_id, 30_000, "refund-1")
    assert snapshot(plat) == after
    assert count_rows(plat, t.refunds) == 1
    assert_verified(plat)


# --- bad input changes nothing -------------------------------------------------------------------


def _stocked(city: City) -> dict[str, int]:
    """A's first order, two closes (A holds 25.00 of vouchers, settled), a mall and a no-voucher shop."""
    plat = city.platform
    order = city.order(100_000)
    plat.close_period()
    plat.close_period()
    assert plat.wallet(city.consumer).vouchers_fen == 2_500
    return {
        "order": order.order_id,
        "mall": city.add_merchant("Mall", "mall", category="mall"),
        "cash_only": city.add_merchant("Cash only", accepts_vouchers=False),
    }


_ISSUE = "issue"


def _order(city: City, amount: int, voucher: int = 0, **kw: Any) -> Callable[[], Any]:
    """An order; a voucher part carries a code the consumer issues, unless ``pay_code`` is given."""
    consumer = kw.pop("consumer", city.consumer)
    merchant = kw.pop("merchant", city.merchant)
    key = kw.pop("key", "bad")
    code = kw.pop("pay_code", _ISSUE)

    def place() -> Any:
        given = code
        if given == _ISSUE:
            given = city.platform.pay_code(consumer, voucher).code if voucher > 0 else None
        return city.platform.order(OrderRequest(consumer, merchant, amount, voucher, key, given))

    return place


def _others_code(city: City, voucher: int) -> str:
    """A live pay code of another consumer (B), for as many vouchers."""
    return city.platform.pay_code(city.referrer, voucher).code


def _terms(city: City, **kw: Any) -> Callable[[], Any]:
    base: dict[str, Any] = {"name": "New", "category": "catering", "channel": "alliance",
                            "region_id": city.region}
    return lambda: city.platform.merchant(MerchantTerms(**{**base, **kw}))


BAD_INPUT: dict[str, tuple[Callable[[City, dict[str, int]], Callable[[], Any]],
                           type[GongshengError], str]] = {
    "unknown consumer": (lambda c, s: _order(c, 1_000, consumer=999_999), NotFound, "consumer"),
    "unknown merchant": (lambda c, s: _order(c, 1_000, merchant=999_999), NotFound, "merchant"),
    "zero amount": (lambda c, s: _order(c, 0), InvalidInput, "amount"),
    "negative amount": (lambda c, s: _order(c, -100), InvalidInput, "amount"),
    "voucher above amount": (lambda c, s: _order(c, 1_000, 1_001), InvalidInput, "voucher"),
    "missing idempotency key": (lambda c, s: _order(c, 1_000, key=""), InvalidInput, "Idempotency"),
    "voucher above balance": (lambda c, s: _order(c, 10_000, 2_501), InsufficientBalance,
                              "does not cover"),
    "voucher part without a pay code": (lambda c, s: _order(c, 10_000, 100, pay_code=None),
                                        InvalidInput, "pay_code"),
    "pay code on a cash order": (lambda c, s: _order(c, 10_000, 0, pay_code=_others_code(c, 1)),
                                 InvalidInput, "pay_code"),
    "malformed pay code": (lambda c, s: _order(c, 10_000, 100, pay_code="12345"), InvalidInput,
                           "pay_code"),
    "another consumer's pay code": (
        lambda c, s: _order(c, 10_000, 100, pay_code=_others_code(c, 100)), PayCodeRefused,
        "pay code"),
    "voucher at a merchant not accepting": (
        lambda c, s: _order(c, 10_000, 100, merchant=s["cash_only"]), InvalidInput, "accept"),
    "voucher above the mall's share": (
        lambda c, s: _order(c, 4_000, 2_001, merchant=s["mall"]), InvalidInput, "2000"),
    "refund above remaining": (
        lambda c, s: lambda: c.platform.refund(s["order"], 100_001, "r"), InvalidInput, "100000"),
    "refund of an unknown order": (
        lambda c, s: lambda: c.platform.refund(999_999, 1, "r"), NotFound, "order"),
    "merchant rate above bounds": (lambda c, s: _terms(c, concession_rate="0.25"), InvalidInput,
                                   "0.25"),
    "merchant rate below bounds": (lambda c, s: _terms(c, concession_rate="0.02"), InvalidInput,
                                   "0.02"),
    "BM contract infeasible at 3%": (
        lambda c, s: _terms(c, concession_rate="0.03", bm_id=c.bm, bm_rate="0.03"),
        InfeasibleSplit, "0.03"),
    "BM rate outside the contract bounds": (
        lambda c, s: _terms(c, bm_id=c.bm, bm_rate="0.05"), InvalidInput, "0.05"),
    "unknown business manager": (
        lambda c, s: _terms(c, bm_id=999_999, bm_rate="0.01"), NotFound, "business manager"),
    "region already held": (
        lambda c, s: lambda: c.platform.partner("Rival", c.region, 1), AlreadyHeld, "held"),
    "unknown referrer": (
        lambda c, s: lambda: c.platform.consumer("X", 999_999), NotFound, "referrer"),
    "payout to a consumer": (
        lambda c, s: lambda: c.platform.withdraw(c.consumer, 100, "p"), InvalidInput, "consumer"),
    "payout below the threshold": (
        lambda c, s: lambda: c.platform.withdraw(c.promoter, 100, "p"), InsufficientBalance,
        "threshold"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_changes_nothing(city: City, case: str) -> None:
    make, error, mentions = BAD_INPUT[case]
    stock = _stocked(city)
    plat = city.platform
    action = make(city, stock)
    before = snapshot(plat)
    parties, orders = count_rows(plat, t.parties), count_rows(plat, t.orders)
    with pytest.raises(error) as raised:
        action()
    assert mentions in str(raised.value)
    assert snapshot(plat) == before
    assert (count_rows(plat, t.parties), count_rows(plat, t.orders)) == (parties, orders)
    assert_verified(plat)


# --- refunds -------------------------------------------------------------------------------------


def test_full_refund_before_release_restores_every_balance(city: City) -> None:
    plat = city.platform
    before = plat.trial_balance()
    order = city.order(100_000)  # the first order: referral points too
    assert plat.trial_balance() != before
    refund = plat.refund(order.order_id, 100_000, "full")
    assert refund.concession_reversed_fen == 20_000 and refund.clawback_fen == 0
    assert plat.trial_balance() == before  # nothing excluded
    for party in (city.consumer, city.merchant, city.referrer):
        assert plat.wallet(party).points_cpts == 0
    assert_verified(plat)


@pytest.mark.parametrize("channel", ["alliance", "mall"])
def test_full_refund_of_an_order_paid_with_vouchers(city: City, channel: str) -> None:
    plat = city.platform
    stock = _stocked(city)
    seller = city.merchant if channel == "alliance" else stock["mall"]
    for party in (city.consumer, city.referrer, city.merchant, city.home):
        plat.wallet(party)  # settle what earlier closes released, so only the order moves below
    before = plat.trial_balance()
    order = city.order(4_000, 2_000, merchant=seller)
    assert order.voucher_fen == 2_000
    assert order.voucher_cost_fen == (1_200 if channel == "mall" else 2_000)
    assert held(plat, city.consumer, AccountKind.VOUCHERS) == 500
    plat.refund(order.order_id, 4_000, "full")
    assert plat.trial_balance() == before
    assert plat.wallet(city.consumer).vouchers_fen == 2_500
    assert_verified(plat)


def test_partial_refunds_summing_to_the_whole_equal_a_full_refund(city: City) -> None:
    """Two newcomers place identical first orders; one is refunded at once, one in odd pieces."""
    plat = city.platform
    before = plat.trial_balance()
    c1 = plat.consumer("C1", city.referrer, city.home)
    c2 = plat.consumer("C2", city.referrer, city.home)
    o1 = city.order(12_345, consumer=c1)
    o2 = city.order(12_345, consumer=c2)
    assert (o1.concession_fen, o1.pool_fen, o1.referrer_cpts) == (2_469, 1_112, 617)
    full = plat.refund(o1.order_id, 12_345, "full")
    pieces = [plat.refund(o2.order_id, amount, f"piece-{i}")
              for i, amount in enumerate((1, 3_333, 4_443, 4_567, 1))]
    assert pieces[-1].refunded_total_fen == 12_345
    assert sum(p.concession_reversed_fen for p in pieces) == full.concession_reversed_fen == 2_469
    for order, refunds in ((o1, [full]), (o2, pieces)):
        reversed_ = postings_of(plat, "refund", [r.refund_id for r in refunds])
        placed = postings_of(plat, "order", [order.order_id])
        assert reversed_ == {k: -v for k, v in placed.items()}
    assert plat.trial_balance() == before
    with pytest.raises(InvalidInput):
        plat.refund(o2.order_id, 1, "one-more")
    assert_verified(plat)


def test_partial_refund_reverses_pro_rata(city: City) -> None:
    plat = city.platform
    order = city.order(100_000)
    refund = plat.refund(order.order_id, 25_000, "quarter")
    assert refund.concession_reversed_fen == 5_000
    tb = plat.trial_balance()
    assert tb[acc(city.partner, AccountKind.CASH)] == 2_250
    assert tb[acc(city.bm, AccountKind.CASH)] == 750
    assert tb[sys_acc(AccountKind.POOL_AVAILABLE)] == 6_750
    assert tb[acc(city.consumer, AccountKind.POINTS)] == 15_000
    assert tb[acc(city.referrer, AccountKind.POINTS)] == 3_750
    assert asset_sums(tb) == {CNY: 0, PTS: 0}
    assert_verified(plat)


def test_entries_are_counted_once_per_write(city: City) -> None:
    plat = city.platform
    start = entry_count(plat)
    order = city.order(100_000)
    assert entry_count(plat) == start + 1
    plat.refund(order.order_id, 100, "small")
    assert entry_count(plat) == start + 2
