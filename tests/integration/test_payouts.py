"""Payouts of cash balances: threshold, balance, idempotency, negative balances after reversals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import IdempotencyConflict, InsufficientBalance
from gongsheng.domain.ledger import AccountKind

from .helpers import assert_verified, count_rows, held, snapshot, system

if TYPE_CHECKING:
    from conftest import City


@pytest.fixture
def city(unheld_city: City) -> City:
    """Withdrawals themselves are tested here: earnings withdrawable at once (``hold_periods = 0``;
    holds are tested in ``test_holds.py``)."""
    return unheld_city


def test_payout_below_threshold_is_refused(city: City) -> None:
    plat = city.platform
    city.order(100_000)  # the promoter earns 20.00, below the 100.00 threshold
    before = snapshot(plat)
    with pytest.raises(InsufficientBalance, match="threshold"):
        plat.withdraw(city.promoter, 1_000, "p1")
    assert snapshot(plat) == before
    assert count_rows(plat, t.payouts) == 0


def test_payout_above_balance_is_refused(city: City) -> None:
    plat = city.platform
    city.order(100_000)  # M is settled 800.00
    before = snapshot(plat)
    with pytest.raises(InsufficientBalance, match=r"800\.00"):
        plat.withdraw(city.merchant, 80_001, "p1")
    assert snapshot(plat) == before


def test_payout_pays_out_once(city: City) -> None:
    plat = city.platform
    city.order(100_000)
    payout = plat.withdraw(city.merchant, 50_000, "p1")
    assert (payout.amount_fen, payout.balance_after_fen, payout.replayed) == (50_000, 30_000, False)
    assert held(plat, city.merchant, AccountKind.CASH) == 30_000
    assert system(plat, AccountKind.CASH_OUT) == 50_000
    after = snapshot(plat)
    again = plat.withdraw(city.merchant, 50_000, "p1")
    assert again.replayed and again.payout_id == payout.payout_id
    assert snapshot(plat) == after
    with pytest.raises(IdempotencyConflict):
        plat.withdraw(city.merchant, 40_000, "p1")
    assert snapshot(plat) == after
    assert count_rows(plat, t.payouts) == 1
    assert_verified(plat)


def test_reversal_after_payout_leaves_a_negative_balance_netted_later(city: City) -> None:
    plat = city.platform
    order = city.order(100_000)
    plat.withdraw(city.merchant, 80_000, "all")
    plat.refund(order.order_id, 100_000, "refund")
    assert held(plat, city.merchant, AccountKind.CASH) == -80_000
    assert plat.wallet(city.merchant).cash_fen == -80_000
    assert_verified(plat)  # cash may go negative; points and vouchers may not
    with pytest.raises(InsufficientBalance):
        plat.withdraw(city.merchant, 1, "again")
    city.order(150_000)  # later earnings net the debt: 1200.00 - 800.00
    assert held(plat, city.merchant, AccountKind.CASH) == 40_000
    assert plat.withdraw(city.merchant, 40_000, "rest").balance_after_fen == 0
    assert_verified(plat)


def test_replays_return_the_first_result_after_later_writes(city: City) -> None:
    """A replayed payout or refund answers exactly what the first request answered, even after
    later payouts, refunds and earnings moved the balances it reported."""
    plat = city.platform
    order = city.order(100_000)
    first_payout = plat.withdraw(city.merchant, 50_000, "pay-1")
    first_refund = plat.refund(order.order_id, 30_000, "ref-1")
    city.order(100_000)
    plat.refund(order.order_id, 70_000, "ref-2")
    plat.withdraw(city.merchant, 20_000, "pay-2")
    again_payout = plat.withdraw(city.merchant, 50_000, "pay-1")
    again_refund = plat.refund(order.order_id, 30_000, "ref-1")
    assert again_payout.replayed and again_refund.replayed
    assert again_payout.balance_after_fen == first_payout.balance_after_fen == 80_000 - 50_000
    assert (again_refund.refunded_total_fen, again_refund.concession_reversed_fen) == (
        first_refund.refunded_total_fen, first_refund.concession_reversed_fen) == (30_000, 6_000)
    assert_verified(plat)
