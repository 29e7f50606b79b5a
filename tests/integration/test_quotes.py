"""Order quotes: the figures of the order placed right after, and nothing written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.services.platform import Platform
from gongsheng.views.quotes import quote_order

if TYPE_CHECKING:
    from conftest import City

SAME = ("period", "consumer_id", "merchant_id", "channel", "amount_fen", "voucher_fen",
        "voucher_cost_fen", "concession_rate", "concession_fen", "pool_fen", "consumer_cpts",
        "merchant_cpts", "referrer_id", "referrer_cpts")


def row_counts(plat: Platform) -> dict[str, Any]:
    """Every table's row count and the sum of every balance: what a write would change."""
    def read(conn: Any) -> dict[str, Any]:
        out: dict[str, Any] = {name: conn.execute(select(func.count()).select_from(table)).scalar()
                               for name, table in t.metadata.tables.items()}
        out["balances_sum"] = conn.execute(select(func.sum(t.balances.c.amount))).scalar()
        out["first_order_keys"] = conn.execute(select(func.count(t.consumers.c.first_order_key))).scalar()
        return out
    return plat.read(read)


def quote(plat: Platform, consumer: int, merchant: int, amount: int, voucher: int = 0) -> Any:
    return plat.read(lambda c: quote_order(c, consumer, merchant, amount, voucher))


def test_a_quote_equals_the_order_placed_after_it_and_writes_nothing(city: City) -> None:
    plat = city.platform
    before = row_counts(plat)
    first = quote(plat, city.consumer, city.merchant, 100_000)
    assert row_counts(plat) == before
    assert first.first_order and first.referrer_id == city.referrer and first.referrer_cpts > 0
    placed = city.order(100_000)
    assert all(getattr(first, k) == getattr(placed, k) for k in SAME)
    assert [{k: a[k] for k in ("part", "recipient", "party_id", "amount_fen", "vacant")}
            for a in placed.allocations] == list(first.allocations)
    second = quote(plat, city.consumer, city.merchant, 100_000)
    assert not second.first_order and second.referrer_cpts == 0  # the referral is paid once
    assert second.concession_fen == first.concession_fen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.integers(1, 10**9))
@pytest.mark.parametrize("dialect", ["sqlite"])
def test_quotes_split_the_whole_concession(city: City, amount: int) -> None:
    q = quote(city.platform, city.consumer, city.merchant, amount)
    assert sum(a["amount_fen"] for a in q.allocations if not a["vacant"]) + q.pool_fen == \
        q.concession_fen
    assert q.consumer_cpts == q.merchant_cpts  # both earn C worth of points


def test_a_quote_refuses_what_the_order_would(city: City) -> None:
    plat = city.platform
    with pytest.raises(NotFound):
        quote(plat, 10**9, city.merchant, 1_000)
    with pytest.raises(NotFound):
        quote(plat, city.consumer, 10**9, 1_000)
    with pytest.raises(InvalidInput):
        quote(plat, city.consumer, city.merchant, 0)
    with pytest.raises(InvalidInput):
        quote(plat, city.consumer, city.merchant, 1_000, 2_000)
