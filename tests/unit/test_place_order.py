"""Placing orders on the in-memory unit of work (no database): ``ordering.place_order``.

What an order moves (the waterfall's paid parts and the pool sum to the concession, the points, one balanced
entry, its ``order.placed`` event), what a replay returns, and what it refuses (a voucher part
without the consumer's pay code, the velocity cap, a frozen merchant, an unknown consumer),
each refusal leaving the books as they were. ``tests/integration/test_fake_agrees.py`` holds
the fake order store to the real ones on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PartyFrozen,
    PayCodeRefused,
    VelocityCapExceeded,
)
from gongsheng.domain.ledger import AccountKind, Asset, account_id, system_account
from gongsheng.domain.money import apply_rate
from gongsheng.domain.policy import Policy
from gongsheng.services.ordering import OrderRequest, OrderResult, order_placed, place_order

from .fakes import FakeBooks, FakeMerchant, FakePayCode, FakeUnitOfWork


@dataclass
class City:
    """Books with a partner's region, a merchant, a referrer and the consumer it referred."""

    books: FakeBooks
    merchant: int
    referrer: int
    consumer: int
    partner: int

    def place(self, req: OrderRequest) -> OrderResult:
        with FakeUnitOfWork(self.books) as uow:
            result = place_order(uow, req)
            uow.commit()
            return result

    def order(self, amount_fen: int, key: str, **kw: Any) -> OrderRequest:
        kw.setdefault("consumer_id", self.consumer)
        return OrderRequest(merchant_id=self.merchant, amount_fen=amount_fen,
                            idempotency_key=key, **kw)


def city_of(policy: Policy) -> City:
    books = FakeBooks()
    books.open_books(policy)
    partner = books.add_party("partner")
    books.partners[1] = partner
    merchant = books.add_merchant(FakeMerchant(rate=Decimal("0.12")))
    referrer = books.add_consumer()
    consumer = books.add_consumer(referrer=referrer, home=merchant)
    return City(books, merchant, referrer, consumer, partner)


def trial(books: FakeBooks) -> dict[Asset, int]:
    out: dict[Asset, int] = {}
    for (_, asset), v in books.balances.items():
        out[asset] = out.get(asset, 0) + v
    return {a: v for a, v in out.items() if v}


@settings(max_examples=40, deadline=None)
@given(amount=st.integers(1, 10**9))
def test_an_order_splits_its_concession_and_awards_points(policy: Policy, amount: int) -> None:
    city = city_of(policy)
    result = city.place(city.order(amount, "k-1"))
    assert not result.replayed and result.order_id == 1 and result.period == 1
    assert result.concession_fen == apply_rate(amount, Decimal("0.12"))
    paid = sum(a["amount_fen"] for a in result.allocations if not a["vacant"])
    assert paid + result.pool_fen == result.concession_fen  # a vacant part goes to the pool
    assert result.pool_fen >= 0
    assert result.consumer_cpts == result.merchant_cpts
    books = city.books
    assert books.balance(city.consumer, AccountKind.POINTS) == result.consumer_cpts
    assert books.balance(city.merchant, AccountKind.POINTS) == result.merchant_cpts
    assert books.balance(city.referrer, AccountKind.POINTS) == result.referrer_cpts
    assert trial(books) == {}, "one balanced entry"
    assert books.events == [order_placed(result)]
    assert books.counters[(1, "orders")] == 1 and books.counters[(1, "gmv_fen")] == amount
    assert books.consumers[city.consumer].first_order_key == "k-1"
    assert books.consumers[city.consumer].last_active_period == 1


def test_the_referral_points_come_with_the_first_order_only(policy: Policy) -> None:
    city = city_of(policy)
    first = city.place(city.order(100_000, "k-1"))
    second = city.place(city.order(100_000, "k-2"))
    assert first.referrer_id == city.referrer and first.referrer_cpts > 0
    assert second.referrer_id is None and second.referrer_cpts == 0
    assert city.books.counters[(1, "orders")] == 2
    assert city.books.counters[(1, "active_consumers")] == 1


def test_a_replay_returns_the_first_result_and_records_no_event(policy: Policy) -> None:
    city = city_of(policy)
    first = city.place(city.order(80_000, "k-1"))
    before = copy.deepcopy(city.books)
    again = city.place(city.order(80_000, "k-1"))
    assert again == replace(first, replayed=True)
    assert city.books.events == before.events and city.books.balances == before.balances
    with pytest.raises(IdempotencyConflict):
        city.place(city.order(80_001, "k-1"))
    assert city.books.stored_orders == before.stored_orders


def test_a_voucher_order_needs_the_consumers_pay_code(policy: Policy) -> None:
    city = city_of(policy)
    books = city.books
    books.move([(account_id(city.consumer, AccountKind.VOUCHERS), Asset.VCH, 5_000),
                (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -5_000)])
    before = copy.deepcopy(books)
    with pytest.raises(InvalidInput, match="pay_code"):
        city.place(city.order(100_000, "v-1", voucher_fen=3_000))
    with pytest.raises(PayCodeRefused):
        city.place(city.order(100_000, "v-1", voucher_fen=3_000, pay_code="0000-0000-0000"))
    assert books.stored_orders == before.stored_orders and books.balances == before.balances
    code = "ABCD-EFGH-JKMN"
    books.pay_codes[codes.code_hash(code)] = FakePayCode(
        city.consumer, 3_000, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    paid = city.place(city.order(100_000, "v-1", voucher_fen=3_000, pay_code=code))
    assert paid.voucher_fen == 3_000
    assert books.balance(city.consumer, AccountKind.VOUCHERS) == 2_000
    assert trial(books) == {}
    with pytest.raises(PayCodeRefused):  # a code is used once
        city.place(city.order(100_000, "v-2", voucher_fen=1_000, pay_code=code))


def test_the_velocity_cap_refuses_and_posts_nothing(policy: Policy) -> None:
    capped = replace(policy, risk=replace(policy.risk, max_orders_per_period=2))
    city = city_of(capped)
    city.place(city.order(10_000, "k-1"))
    city.place(city.order(10_000, "k-2"))
    before = copy.deepcopy(city.books)
    with pytest.raises(VelocityCapExceeded):
        city.place(city.order(10_000, "k-3"))
    assert city.books.balances == before.balances and city.books.events == before.events
    assert city.books.stored_orders == before.stored_orders
    other = city.place(city.order(10_000, "k-4", consumer_id=city.referrer))  # another consumer
    assert other.order_id == 3


def test_a_frozen_merchant_and_an_unknown_consumer_are_refused(policy: Policy) -> None:
    city = city_of(policy)
    with pytest.raises(NotFound, match="consumer 999 does not exist"):
        city.place(city.order(10_000, "k-1", consumer_id=999))
    city.books.frozen.add(city.merchant)
    with pytest.raises(PartyFrozen):
        city.place(city.order(10_000, "k-2"))
    assert city.books.stored_orders == {} and city.books.events == []
    assert city.books.consumers[city.consumer].first_order_key is None  # the claim was undone
