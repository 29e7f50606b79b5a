"""feasibility: the exact criterion agrees with trying every amount, for random policies and rates."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gongsheng.domain.feasibility import excess, first_excess, floor_sum

from .rounding_reference import brute_first_excess, search_bound

F = Fraction
DEFAULT = (F(1, 5), F(3, 20), F(1, 10), F(1, 20))  # the default policy's shares of C


@given(st.integers(0, 60), st.integers(1, 40), st.integers(-80, 80), st.integers(-80, 80))
def test_floor_sum_is_the_sum_of_floors(n: int, m: int, a: int, b: int) -> None:
    assert floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


rates = st.integers(1, 2500).map(lambda bp: F(bp, 10000))           # 0.01% .. 25%
conc_shares = st.lists(st.integers(0, 40).map(lambda pc: F(pc, 100)), max_size=4)
order_shares = st.one_of(  # one part of G at 0.01% steps, or two at 0.05% steps
    st.lists(st.integers(0, 400).map(lambda bp: F(bp, 10000)), max_size=1),
    st.lists(st.integers(0, 80).map(lambda n: F(n, 2000)), min_size=2, max_size=2))


@given(rates, conc_shares, order_shares)
@settings(max_examples=300, deadline=None)
@example(F(6, 100), list(DEFAULT), [F(3, 100)])          # fails at 84 fen
@example(F(333, 10000), list(DEFAULT), [F(15, 1000)])    # exact pool > 0, fails at 300 fen
@example(F(3, 100), [F(7, 10), F(3, 20), F(1, 10), F(1, 20)], [])  # fixed parts exactly 100%
@example(F(3, 100), list(DEFAULT), [F(1, 100), F(2, 100)])          # two parts of G
@example(F(1, 10), [F(1, 2)], [F(1, 20)])                           # s = 0, feasible
def test_first_excess_is_the_least_amount_that_overpays(
    rate: Fraction, conc: list[Fraction], order: list[Fraction]
) -> None:
    limit = search_bound(rate, conc, order)
    assume(limit <= 3_000_000)
    first = brute_first_excess(rate, conc, order, limit)
    assert first_excess(rate, conc, order) == first
    if first is not None:
        assert excess(first, rate, conc, order) > 0


@given(st.integers(100, 1000))
@settings(max_examples=100, deadline=None)
def test_a_bm_at_half_the_concession_rate_is_refused(contract_bp: int) -> None:
    # 3%/1.5%, 4%/2%, ...: the exact pool is 0 and some amount's rounded parts overpay
    contract = F(contract_bp, 10000)
    first = first_excess(2 * contract, DEFAULT, [contract])
    assert first is not None and excess(first, 2 * contract, DEFAULT, [contract]) > 0


def test_shares_must_be_rates() -> None:
    with pytest.raises(ValueError):
        first_excess(F(0), DEFAULT, [])
    with pytest.raises(ValueError):
        first_excess(F(1, 10), [F(-1, 10)], [])
