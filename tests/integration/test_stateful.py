"""Generated histories against the books, on SQLite and (fewer examples) PostgreSQL.

- A stateful test (``RuleBasedStateMachine``): registrations, orders with and without vouchers,
  partial and full refunds, payouts, period closes (``budget``) and wallet reads (settlement) in
  random order. After every step: every asset sums to zero, no must-stay-positive balance is
  negative, the pool's available part is not negative, its reserve equals the vouchers
  outstanding; every refused request changed nothing; ``verify`` holds at the end.
- An equivalence property: the lazy accumulator gives every holder exactly
  ``floor(points x multiple x F)`` per group, where the test computes ``F`` itself, as an exact
  :class:`~fractions.Fraction`, from the release rates the closes returned; and what a group
  issued beyond what its holders are owed is below one fen per holder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import GongshengError, InsufficientBalance, InvalidInput
from gongsheng.domain.ledger import AccountKind, Asset, describe_account, system_account
from gongsheng.domain.money import apply_rate, prorate
from gongsheng.services.ordering import OrderRequest, OrderResult
from gongsheng.services.platform import Platform

from .helpers import assert_verified, asset_sums, snapshot

if TYPE_CHECKING:
    from conftest import City

CONSUMER_MULTIPLE, MERCHANT_MULTIPLE = Decimal("5"), Decimal("2.25")
THRESHOLD_FEN = 10_000
MALL_SHARE = Decimal("0.50")

EXAMPLES = {"sqlite": (25, 30), "postgres": (6, 25)}  # (examples, steps per example)


class Books:
    """A city on a fresh database, the requests made to it, and the naive model of its releases."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.plat: Platform = city.platform
        self.mall = city.add_merchant("Mall", "mall", category="mall")
        self.cash_only = city.add_merchant("Cash only", accepts_vouchers=False)
        self.consumers = [city.consumer, city.referrer]
        self.merchants = [city.merchant, city.home, self.mall, self.cash_only]
        self.earners = [*self.merchants, city.partner, city.promoter, city.bm]
        self.orders: list[list[Any]] = []  # [OrderResult, refunded fen]
        self.rates: dict[int, Fraction] = {}
        self.keys = 0

    def key(self) -> str:
        self.keys += 1
        return f"gen-{self.keys}"

    def refused(self, error: type[GongshengError], action: Callable[[], Any]) -> None:
        """``action`` raises ``error`` and changes nothing."""
        before = snapshot(self.plat)
        with pytest.raises(error):
            action()
        assert snapshot(self.plat) == before

    # -- requests --

    def order(self, consumer: int, merchant: int, amount: int, voucher: str) -> None:
        balance = self.plat.wallet(consumer).vouchers_fen if voucher != "none" else 0
        part = {"none": 0, "half": balance // 2, "all": balance, "over": balance + 1}[voucher]
        code = self.plat.pay_code(consumer, part).code if part else None  # the consumer's consent
        req = OrderRequest(consumer, merchant, amount, part, self.key(), code)
        at_mall = merchant == self.mall
        if part > amount:
            return self.refused(InvalidInput, lambda: self.plat.order(req))
        if part and merchant == self.cash_only:
            return self.refused(InvalidInput, lambda: self.plat.order(req))
        if part and at_mall and part > int(apply_rate(amount, MALL_SHARE)):
            return self.refused(InvalidInput, lambda: self.plat.order(req))
        if part > balance:
            return self.refused(InsufficientBalance, lambda: self.plat.order(req))
        result = self.plat.order(req)
        assert (result.amount_fen, result.voucher_fen) == (amount, part)
        self.orders.append([result, 0])
        return None

    def refund(self, index: int, how: str, cut: int) -> None:
        if not self.orders:
            return
        entry = self.orders[index % len(self.orders)]
        order: OrderResult = entry[0]
        remaining = order.amount_fen - entry[1]
        amount = {"full": remaining, "part": 1 + cut % max(remaining, 1), "over": remaining + 1}[how]
        if amount > remaining or amount <= 0:
            self.refused(InvalidInput, lambda: self.plat.refund(order.order_id, amount, self.key()))
            return
        result = self.plat.refund(order.order_id, amount, self.key())
        entry[1] += amount
        assert result.refunded_total_fen == entry[1]

    def payout(self, party: int, how: str) -> None:
        wallet = self.plat.wallet(party)
        cash, free = wallet.cash_fen, wallet.cash_available_fen  # only what no hold keeps
        amount = max(1, {"all": free, "half": free // 2, "over": free + 1}[how])
        if free < THRESHOLD_FEN or amount > free:
            self.refused(InsufficientBalance, lambda: self.plat.withdraw(party, amount, self.key()))
            return
        assert self.plat.withdraw(party, amount, self.key()).balance_after_fen == cash - amount

    def close(self) -> None:
        summary = self.plat.close_period()
        assert summary.controller == "budget"
        assert summary.pool_available_fen >= 0 and summary.unfunded_fen == 0
        self.rates[summary.period] = Fraction(Decimal(summary.release_rate))

    # -- the naive model --

    def fraction(self, start: int) -> Fraction:
        """A group's released fraction, summed period by period as exact fractions."""
        f = Fraction(0)
        for period in sorted(p for p in self.rates if p >= start):
            f += min(self.rates[period], 1 - f)
        return f

    def points(self) -> dict[tuple[int, int, Decimal], int]:
        """Points per (holder, start period, multiple), from the orders and what was refunded."""
        out: dict[tuple[int, int, Decimal], int] = defaultdict(int)
        for order, refunded in self.orders:
            start = order.period + 1
            for holder, multiple, pts in (
                (order.consumer_id, CONSUMER_MULTIPLE, order.consumer_cpts),
                (order.merchant_id, MERCHANT_MULTIPLE, order.merchant_cpts),
                (order.referrer_id, CONSUMER_MULTIPLE, order.referrer_cpts),
            ):
                if holder is not None and pts:
                    out[(holder, start, multiple)] += pts - prorate(pts, refunded, order.amount_fen)
        return out

    def check_wallet(self, party: int) -> None:
        """Every holding of the party released exactly floor(points x multiple x F), never above cap."""
        model = self.points()
        wallet = self.plat.wallet(party)
        for h in wallet.holdings:
            multiple = Decimal(h["cap_multiple"])
            pts = model.get((party, h["start_period"], multiple), 0)
            assert h["points_cpts"] == pts
            owed = pts * Fraction(multiple) * self.fraction(h["start_period"])
            assert h["released_fen"] == int(owed)  # floor: both are non-negative
            assert h["released_fen"] <= h["cap_fen"]
        expected = {(s, m) for (p, s, m), v in model.items() if p == party and v}
        held = {(h["start_period"], Decimal(h["cap_multiple"])) for h in wallet.holdings
                if h["points_cpts"]}
        assert held == expected

    def check_all(self) -> None:
        """Every holder against the model; each group's undistributed remainder below one fen per holder."""
        for party in {*self.consumers, *self.merchants}:
            self.check_wallet(party)
        groups: dict[tuple[int, Decimal], list[int]] = defaultdict(list)
        for (_, start, multiple), pts in self.points().items():
            if pts:
                groups[(start, multiple)].append(pts)
        with self.plat.engine.connect() as conn:
            issued = {(int(s), Decimal(m)): int(i) for s, m, i in conn.execute(
                select(t.release_groups.c.start_period, t.release_groups.c.multiple,
                       t.release_groups.c.issued_fen))}
        for (start, multiple), holdings in groups.items():
            f = Fraction(multiple) * self.fraction(start)
            group = int(sum(holdings) * f)
            assert issued.get((start, multiple), 0) == group
            remainder = group - sum(int(p * f) for p in holdings)
            assert 0 <= remainder < len(holdings)
        assert_verified(self.plat)

    def check_books(self) -> None:
        tb = self.plat.trial_balance()
        assert set(asset_sums(tb).values()) <= {0}
        negative = [(describe_account(a), v) for (a, _), v in tb.items()
                    if describe_account(a)[1].nonnegative and v < 0]
        assert not negative
        available = tb.get((system_account(AccountKind.POOL_AVAILABLE), Asset.CNY), 0)
        reserved = tb.get((system_account(AccountKind.POOL_RESERVED), Asset.CNY), 0)
        outstanding = -(tb.get((system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH), 0)
                        + tb.get((system_account(AccountKind.VOUCHERS_REDEEMED), Asset.VCH), 0))
        assert available >= 0
        assert reserved == outstanding


class BooksMachine(RuleBasedStateMachine):
    """Random requests against one fresh database per example."""

    def __init__(self, open_city: Callable[[], City]) -> None:
        super().__init__()
        self.books = Books(open_city())

    def pick(self, seq: list[int], index: int) -> int:
        return seq[index % len(seq)]

    @rule(referrer=st.none() | st.integers(0, 99), home=st.none() | st.integers(0, 99))
    def register(self, referrer: int | None, home: int | None) -> None:
        b = self.books
        consumer = b.plat.consumer(
            f"C{len(b.consumers)}",
            None if referrer is None else self.pick(b.consumers, referrer),
            None if home is None else self.pick(b.merchants, home))
        b.consumers.append(consumer)

    @rule(who=st.integers(0, 99), where=st.integers(0, 99),
          amount=st.one_of(st.integers(1, 500), st.integers(1, 400_000)),
          voucher=st.sampled_from(["none", "none", "half", "all", "over"]))
    def order(self, who: int, where: int, amount: int, voucher: str) -> None:
        b = self.books
        b.order(self.pick(b.consumers, who), self.pick(b.merchants, where), amount, voucher)

    @rule(index=st.integers(0, 99), how=st.sampled_from(["full", "part", "part", "over"]),
          cut=st.integers(0, 10**6))
    def refund(self, index: int, how: str, cut: int) -> None:
        self.books.refund(index, how, cut)

    @rule(who=st.integers(0, 99), how=st.sampled_from(["all", "half", "over"]))
    def payout(self, who: int, how: str) -> None:
        self.books.payout(self.pick(self.books.earners, who), how)

    @rule()
    def close(self) -> None:
        self.books.close()

    @rule(who=st.integers(0, 99))
    def wallet(self, who: int) -> None:
        b = self.books
        b.check_wallet(self.pick([*b.consumers, *b.merchants], who))

    @invariant()
    def books_hold(self) -> None:
        self.books.check_books()

    def teardown(self) -> None:
        try:
            self.books.check_all()
        finally:
            self.books.plat.engine.dispose()


@pytest.fixture
def open_city(db_url: str, dialect: str, new_database: Callable[[str], str],
              make_city: Callable[[Platform], City]) -> Callable[[], City]:
    """A new database and city per call (engines are disposed by the caller)."""
    first = [db_url]

    def make() -> City:
        url = first.pop() if first else new_database(dialect)
        return make_city(Platform.open(url))

    return make


def test_books_hold_under_random_requests(open_city: Callable[[], City], dialect: str) -> None:
    examples, steps = EXAMPLES[dialect]
    run_state_machine_as_test(
        lambda: BooksMachine(open_city),
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                          suppress_health_check=list(HealthCheck)))


HISTORY = st.lists(st.one_of(
    st.tuples(st.just("order"), st.integers(0, 99), st.integers(1, 300_000)),
    st.tuples(st.just("refund"), st.integers(0, 99), st.integers(0, 10**6)),
    st.tuples(st.just("close"), st.just(0), st.just(0)),
    st.tuples(st.just("newcomer"), st.integers(0, 99), st.just(0)),
), min_size=4, max_size=30)


def test_lazy_accumulator_equals_the_naive_loop(open_city: Callable[[], City], dialect: str) -> None:
    examples = EXAMPLES[dialect][0]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(history=HISTORY)
    def run(history: list[tuple[str, int, int]]) -> None:
        books = Books(open_city())
        try:
            for op, a, b in history:
                if op == "order":
                    books.order(books.consumers[a % len(books.consumers)],
                                books.merchants[a % 2], b, "none")
                elif op == "refund":
                    books.refund(a, "part" if b % 3 else "full", b)
                elif op == "close":
                    books.close()
                else:
                    books.consumers.append(books.plat.consumer(
                        "N", books.consumers[a % len(books.consumers)], books.city.home))
            for _ in range(3):
                books.close()
            books.check_all()
        finally:
            books.plat.engine.dispose()

    run()
