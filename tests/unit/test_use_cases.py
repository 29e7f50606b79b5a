"""The use cases on the stores, against the in-memory unit of work (no database).

Payout, settlement, exchange and dividend, period close: what each moves, records and refuses;
an idempotent replay records no new event; a unit of work not committed leaves nothing.
The same use cases run on SQLite and PostgreSQL in the integration tests, and
``tests/integration/test_fake_agrees.py`` holds the fake to the real stores.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.errors import (
    Conflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    PartyFrozen,
)
from gongsheng.domain.events import (
    PayoutMade,
    PeriodClosed,
    PointsExchanged,
    PolicyVersionActivated,
    StoreProfitDeclared,
)
from gongsheng.domain.ledger import AccountKind, Asset, account_id, system_account
from gongsheng.domain.policy import Policy
from gongsheng.domain.release import SCALE
from gongsheng.services import payouts, periods, store
from gongsheng.services.holdings import settle_holder

from .fakes import FakeBooks, FakeUnitOfWork

CNY_IN = system_account(AccountKind.CASH_IN)
TWO = Decimal("2")


@dataclass
class Books:
    """A platform with one merchant (with cash), two consumers and a funded dividend pool."""

    books: FakeBooks
    merchant: int
    consumer: int
    other: int

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.books)

    def run(self, use_case: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a use case in its own unit of work and commit it (what ``Platform.run`` does)."""
        with self.uow() as uow:
            result = use_case(uow, *args, **kwargs)
            uow.commit()
            return result

    def cash(self, party: int) -> int:
        return self.books.balance(party, AccountKind.CASH)

    def system(self, kind: AccountKind) -> int:
        return self.books.balance(1, kind)


def open_books(policy: Policy, *, merchant_cash: int = 50_000, pool: int = 1_000_000) -> Books:
    books = FakeBooks()
    books.open_books(policy)
    merchant, consumer, other = (books.add_party(k) for k in ("merchant", "consumer", "consumer"))
    books.move([(account_id(merchant, AccountKind.CASH), Asset.CNY, merchant_cash),
                (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, pool),
                (CNY_IN, Asset.CNY, -merchant_cash - pool)])
    return Books(books, merchant, consumer, other)


def asset_sums(books: FakeBooks) -> dict[Asset, int]:
    sums = dict.fromkeys(Asset, 0)
    for (_, asset), v in books.balances.items():
        sums[asset] += v
    return sums


@pytest.fixture
def b(policy: Policy) -> Books:
    return open_books(policy)


# --- payout -----------------------------------------------------------------------------------

def test_a_payout_moves_cash_out_once_and_records_it(b: Books) -> None:
    paid = b.run(payouts.withdraw, b.merchant, 20_000, "p-1")
    assert (paid.amount_fen, paid.balance_after_fen, paid.replayed) == (20_000, 30_000, False)
    assert b.cash(b.merchant) == 30_000
    assert b.system(AccountKind.CASH_OUT) == 20_000
    assert b.books.counters[(1, "payouts_fen")] == 20_000
    assert b.books.events == [PayoutMade(period=1, payout_id=paid.payout_id, party_id=b.merchant,
                                         amount_fen=20_000, balance_after_fen=30_000)]
    assert [a.action for a in b.books.audits] == ["payout.made"]
    assert asset_sums(b.books)[Asset.CNY] == 0


def test_a_replayed_payout_returns_the_first_and_records_nothing(b: Books) -> None:
    first = b.run(payouts.withdraw, b.merchant, 20_000, "p-1")
    again = b.run(payouts.withdraw, b.merchant, 20_000, "p-1")
    assert again == replace(first, replayed=True)
    assert b.cash(b.merchant) == 30_000
    assert len(b.books.events) == 1 and len(b.books.entries) == 1
    with pytest.raises(IdempotencyConflict):
        b.run(payouts.withdraw, b.merchant, 10_000, "p-1")


@pytest.mark.parametrize("amount", [50_001, 90_000])
def test_a_payout_beyond_the_available_cash_is_refused(b: Books, amount: int) -> None:
    before = copy.deepcopy(b.books)
    with pytest.raises(InsufficientBalance, match=r"available balance is 500\.00 yuan"):
        b.run(payouts.withdraw, b.merchant, amount, "p-1")
    assert b.books == before


def test_held_earnings_are_not_withdrawable(b: Books) -> None:
    b.books.earnings[(b.merchant, 1)] = 45_000  # earned in the open period: held for 1 period
    with pytest.raises(InsufficientBalance, match=r"below the withdrawal threshold.*is held for 1"):
        b.run(payouts.withdraw, b.merchant, 5_000, "p-1")
    b.books.earnings[(b.merchant, 1)] = 30_000
    assert b.run(payouts.withdraw, b.merchant, 15_000, "p-2").balance_after_fen == 35_000
    with pytest.raises(InsufficientBalance, match=r"balance 50\.00 yuan is below.*300\.00 yuan is held"):
        b.run(payouts.withdraw, b.merchant, 10_000, "p-3")


def test_only_an_earning_party_that_is_not_frozen_withdraws(b: Books) -> None:
    with pytest.raises(InvalidInput, match="consumer"):
        b.run(payouts.withdraw, b.consumer, 20_000, "p-1")
    with pytest.raises(NotFound):
        b.run(payouts.withdraw, 999, 20_000, "p-2")
    b.books.frozen.add(b.merchant)
    with pytest.raises(PartyFrozen):
        b.run(payouts.withdraw, b.merchant, 20_000, "p-3")
    assert b.books.events == [] and b.books.payouts == {}


def test_a_payout_not_committed_leaves_nothing(b: Books) -> None:
    before = copy.deepcopy(b.books)
    with b.uow() as uow:
        payouts.withdraw(uow, b.merchant, 20_000, "p-1")
        assert uow.books.balance(b.merchant, AccountKind.CASH) == 30_000  # seen inside
    assert b.books == before
    with pytest.raises(RuntimeError), b.uow() as uow:
        payouts.withdraw(uow, b.merchant, 20_000, "p-1")
        raise RuntimeError("the caller failed after the payout")
    assert b.books == before


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60_000), st.integers(0, 3)), max_size=8))
def test_payouts_never_exceed_the_cash_and_conserve_it(policy: Policy,
                                                       asks: list[tuple[int, int]]) -> None:
    b = open_books(policy)
    paid = 0
    for amount, key in asks:
        try:
            result = b.run(payouts.withdraw, b.merchant, amount, f"k{key}")
        except (InsufficientBalance, IdempotencyConflict):
            continue
        paid += 0 if result.replayed else result.amount_fen
    assert b.cash(b.merchant) == 50_000 - paid >= 0
    assert b.system(AccountKind.CASH_OUT) == paid == sum(e.amount_fen for e in b.books.events
                                                         if isinstance(e, PayoutMade))
    assert asset_sums(b.books)[Asset.CNY] == 0


# --- period close and settlement ----------------------------------------------------------------

def test_a_close_releases_the_started_groups_and_opens_the_next_period(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)   # started: releases at this close
    b.books.hold(b.other, 2, TWO, 50_000)       # starts next period: not yet
    summary = b.run(periods.close_period)
    assert summary.period == 1 and not summary.already_closed
    assert summary.released_fen > 0 and summary.unfunded_fen == 0
    assert b.system(AccountKind.VOUCHERS_UNSETTLED) == summary.released_fen
    assert b.system(AccountKind.POOL_RESERVED) == summary.released_fen
    assert b.system(AccountKind.POOL_AVAILABLE) == 1_000_000 - summary.released_fen
    fraction, issued, points = b.books.groups[(1, TWO)]
    assert (issued, points) == (summary.released_fen, 100_000) and 0 < fraction < SCALE
    assert (2, TWO) not in b.books.groups
    assert b.books.periods[1].status == "closed" and b.books.periods[2].status == "open"
    assert b.books.periods[2].starts_on == b.books.periods[1].ends_on
    [event] = b.books.events
    assert event == PeriodClosed(
        period=1, controller="budget", release_rate=summary.release_rate,
        nominal_rate=summary.nominal_rate, released_fen=summary.released_fen, unfunded_fen=0,
        pool_available_fen=1_000_000 - summary.released_fen,
        pool_reserved_fen=summary.released_fen, forced_promise=False)
    assert summary.figures.unreleased_entitlement_fen == (200_000 - summary.released_fen
                                                          + 100_000)
    assert all(v == 0 for v in asset_sums(b.books).values())


def test_a_close_is_idempotent_by_period_and_by_key(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)
    first = b.run(periods.close_period, key="c-1")
    events, entries = list(b.books.events), list(b.books.entries)
    assert b.run(periods.close_period, key="c-1") == replace(first, already_closed=True)
    assert b.run(periods.close_period, 1) == replace(first, already_closed=True)
    assert (b.books.events, b.books.entries) == (events, entries)
    with pytest.raises(IdempotencyConflict):
        b.run(periods.close_period, 2, key="c-1")
    with pytest.raises(NotFound):
        b.run(periods.close_period, 7)
    assert b.books.periods[2].status == "open"


def test_a_scheduled_policy_is_activated_by_the_close(b: Books, policy: Policy) -> None:
    b.books.policies[2] = policy
    b.books.active_from[2] = 2
    b.run(periods.close_period)
    assert b.books.periods[2].policy_version_id == 2
    assert b.books.events[-1] == PolicyVersionActivated(period=2, version_id=2,
                                                        previous_version_id=1)
    assert [a.action for a in b.books.audits] == ["period.closed", "policy.activated"]


def test_a_close_not_committed_leaves_nothing(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)
    before = copy.deepcopy(b.books)
    with b.uow() as uow:
        periods.close_period(uow)
        assert uow.locks == [("books", ())]
    assert b.books == before


def test_settling_pays_what_the_holdings_released_once(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)
    b.books.hold(b.consumer, 2, TWO, 40_000)  # not started: owes nothing
    b.run(periods.close_period)
    owed = b.system(AccountKind.VOUCHERS_UNSETTLED)
    done = b.run(settle_holder, b.consumer, 2)
    assert done.fen == owed and done.balances[AccountKind.VOUCHERS] == owed
    assert b.books.balance(b.consumer, AccountKind.VOUCHERS) == owed
    assert b.books.holdings[(b.consumer, 1, TWO)] == [100_000, owed]
    assert [h.settled_fen for h in done.holdings] == [owed, 0]  # the started holdings
    assert b.run(settle_holder, b.consumer, 2).fen == 0
    assert b.system(AccountKind.VOUCHERS_UNSETTLED) == 0


def test_released_vouchers_repay_a_voucher_debt_first(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)
    b.books.move([(account_id(b.consumer, AccountKind.VOUCHER_DEBT), Asset.VCH, -300),
                  (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, 300)])
    b.run(periods.close_period)
    done = b.run(settle_holder, b.consumer, 2)
    assert done.balances[AccountKind.VOUCHER_DEBT] == 0
    assert done.balances[AccountKind.VOUCHERS] == done.fen - 300


def test_a_frozen_holder_is_settled_exactly_when_unfrozen(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 100_000)
    b.books.frozen.add(b.consumer)
    b.run(periods.close_period)
    assert b.run(settle_holder, b.consumer, 2).fen == 0
    owed = b.system(AccountKind.VOUCHERS_UNSETTLED)
    b.books.frozen.clear()
    assert b.run(settle_holder, b.consumer, 2).fen == owed


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3), st.integers(1, 500_000)),
                min_size=1, max_size=8), st.integers(1, 4))
def test_settling_every_holder_leaves_at_most_a_fen_per_holding_unsettled(
        policy: Policy, held: list[tuple[int, int, int]], closes: int) -> None:
    b = open_books(policy)
    holders = [b.consumer, b.other, b.merchant]
    for who, start, pts in held:
        b.books.hold(holders[who], start, TWO, pts)
    for _ in range(closes):
        b.run(periods.close_period)
    period = closes + 1
    for holder in holders:
        done = b.run(settle_holder, holder, period)
        assert all(h.settled_fen == h.owed_fen for h in done.holdings)
    left = b.system(AccountKind.VOUCHERS_UNSETTLED)
    assert 0 <= left <= len(b.books.holdings)
    assert all(v == 0 for v in asset_sums(b.books).values())


# --- the store: exchange and dividends ----------------------------------------------------------

def programme_of(b: Books, units: int = 10, price: int = 10_000, share: str = "0.5") -> int:
    return int(b.run(store.open_programme, b.merchant, price, units, share))


def test_an_exchange_takes_the_newest_unreleased_points_first(b: Books) -> None:
    b.books.hold(b.consumer, 2, TWO, 30_000)
    b.books.hold(b.consumer, 3, TWO, 30_000)
    prog = programme_of(b)
    assert b.run(store.exchange, b.consumer, prog, 4) == 40_000
    assert b.books.holdings[(b.consumer, 3, TWO)] == [0, 0]
    assert b.books.holdings[(b.consumer, 2, TWO)] == [20_000, 0]
    assert b.books.group_points[(3, TWO)] == 0 and b.books.group_points[(2, TWO)] == 20_000
    assert b.books.balance(b.consumer, AccountKind.POINTS) == 20_000
    assert b.books.balance(b.consumer, AccountKind.UNITS) == 40_000
    assert b.books.programmes[prog].units_sold == 4 and b.books.units[(prog, b.consumer)] == 4
    assert b.books.counters[(1, "store_points_exchanged_cpts")] == 40_000
    assert b.books.events == [PointsExchanged(period=1, consumer_id=b.consumer,
                                              programme_id=prog, units=4, points_cpts=40_000)]


def test_released_points_are_not_exchanged(b: Books) -> None:
    b.books.hold(b.consumer, 1, TWO, 30_000)  # releases at the close
    b.books.hold(b.consumer, 3, TWO, 10_000)
    b.run(periods.close_period)
    prog = programme_of(b)
    before = copy.deepcopy(b.books)
    with pytest.raises(InsufficientBalance, match="holds only 10000 centi-points"):
        b.run(store.exchange, b.consumer, prog, 2)
    assert b.books == before


def test_an_exchange_is_refused_beyond_the_units_left_or_when_frozen(b: Books) -> None:
    b.books.hold(b.consumer, 2, TWO, 500_000)
    prog = programme_of(b, units=3)
    with pytest.raises(InvalidInput, match="only 3 units"):
        b.run(store.exchange, b.consumer, prog, 4)
    with pytest.raises(NotFound):
        b.run(store.exchange, b.consumer, prog + 1, 1)
    b.books.frozen.add(b.consumer)
    with pytest.raises(PartyFrozen):
        b.run(store.exchange, b.consumer, prog, 1)
    assert b.books.events == [] and b.books.units == {}


def test_a_dividend_pays_the_share_pro_rata_once_a_period(b: Books) -> None:
    b.books.hold(b.consumer, 2, TWO, 100_000)
    b.books.hold(b.other, 2, TWO, 100_000)
    prog = programme_of(b)
    b.run(store.exchange, b.consumer, prog, 2)
    b.run(store.exchange, b.other, prog, 1)
    paid = b.run(store.declare_profit, prog, 60_000)
    assert paid == 30_000  # half of the profit
    assert b.books.balance(b.consumer, AccountKind.VOUCHERS) == 20_000
    assert b.books.balance(b.other, AccountKind.VOUCHERS) == 10_000
    assert b.cash(b.merchant) == 20_000
    assert b.system(AccountKind.POOL_RESERVED) == 30_000
    assert b.books.events[-1] == StoreProfitDeclared(period=1, programme_id=prog,
                                                     profit_fen=60_000, paid_fen=30_000)
    with pytest.raises(Conflict):
        b.run(store.declare_profit, prog, 1_000)
    assert all(v == 0 for v in asset_sums(b.books).values())


def test_a_dividend_beyond_the_merchants_available_cash_is_refused(b: Books) -> None:
    b.books.hold(b.consumer, 2, TWO, 100_000)
    prog = programme_of(b, share="1")
    b.run(store.exchange, b.consumer, prog, 1)
    before = copy.deepcopy(b.books)
    with pytest.raises(InsufficientBalance, match=r"only 500\.00 yuan"):
        b.run(store.declare_profit, prog, 50_001)
    assert b.books == before
