"""release: the nominal schedule completes exactly, the budget rate is affordable and maximal,
the lazy accumulator agrees with a naive exact computation, and the rate valves behave."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.release import (
    SCALE,
    GroupState,
    advance,
    affordable_rate,
    growth_gated_rate,
    nominal_rate,
    periods_to_complete,
    rate_as_decimal,
    release_at,
    released_to_date,
    released_to_date_int64,
    smoothed_rate,
    step,
)

D = Decimal
MULTIPLES = [D(5), D("2.25"), D("1.5"), D("3.333")]


def run(fraction: int, rate: int, periods: int) -> int:
    for _ in range(periods):
        fraction = advance(fraction, rate)
    return fraction


# --- the nominal schedule ----------------------------------------------------------------------


def test_nominal_rate_completes_in_exactly_n_periods() -> None:
    for n in range(1, 101):
        rate = nominal_rate(n)
        assert run(0, rate, n) == SCALE, n
        assert run(0, rate, n - 1) < SCALE, n
        assert periods_to_complete(0, rate) == n


def test_seed_claim_under_promise() -> None:
    # MODEL.md section 9: 200 points (20000 centi-points) at 5x are 1000.00 yuan after 40 periods,
    # 450.00 for the merchant at 2.25x; 36 periods at 15% growth
    for periods in (40, 36):
        consumer = GroupState(1, D(5), 200_00, run(0, nominal_rate(periods), periods))
        merchant = GroupState(1, D("2.25"), 200_00, consumer.fraction)
        assert consumer.released() == 1000_00
        assert merchant.released() == 450_00
        assert not consumer.active


@given(st.integers(0, SCALE), st.integers(0, SCALE))
def test_step_never_overshoots(fraction: int, rate: int) -> None:
    assert step(fraction, rate) == min(rate, SCALE - fraction)
    assert fraction <= advance(fraction, rate) <= SCALE


@given(st.integers(0, SCALE), st.integers(1, SCALE))
def test_periods_to_complete(fraction: int, rate: int) -> None:
    k = periods_to_complete(fraction, rate)
    assert k == math.ceil(Fraction(SCALE - fraction, rate))
    if k and k < 10_000:
        assert run(fraction, rate, k) == SCALE
        assert run(fraction, rate, k - 1) < SCALE


def test_periods_to_complete_edges() -> None:
    assert periods_to_complete(SCALE, 0) == 0
    assert periods_to_complete(0, 0) is None
    assert periods_to_complete(SCALE // 2, 0) is None
    assert periods_to_complete(0, SCALE) == 1


def test_rate_as_decimal() -> None:
    assert rate_as_decimal(SCALE // 40) == D("0.025")
    assert rate_as_decimal(SCALE) == 1
    assert rate_as_decimal(0) == 0


def test_group_state_basics() -> None:
    g = GroupState(3, D("2.25"), 1001, 0)
    assert g.cap == Fraction(2252.25)
    assert g.active
    assert g.released(SCALE) == 2252  # floor of the cap
    assert not GroupState(3, D(5), 0, 0).active
    assert not GroupState(3, D(5), 10, SCALE).active
    assert g.release_at(SCALE // 2) == 1126  # floor(2252.25 / 2)


@st.composite
def int64_holdings(draw: st.DrawFn) -> tuple[Decimal, list[int], int]:
    multiple = draw(st.sampled_from(MULTIPLES))
    num = Fraction(multiple).numerator
    limit = (2**63 - 1) // 10**9 // num - 1  # the documented bound: points x num < 2^63 / 10^9
    points = draw(st.lists(st.one_of(st.integers(0, limit), st.just(limit)), min_size=1, max_size=30))
    fraction = draw(st.one_of(st.integers(0, SCALE), st.sampled_from([0, SCALE, SCALE - 1, 10**9 - 1])))
    return multiple, points, fraction


@given(int64_holdings())
def test_released_to_date_int64_matches_the_exact_floor(holding: tuple[Decimal, list[int], int]) -> None:
    multiple, points, fraction = holding
    num, den = Fraction(multiple).numerator, Fraction(multiple).denominator
    arr = released_to_date_int64(np.array(points, dtype=np.int64), num, den, fraction)
    assert arr.dtype == np.int64
    expected = [math.floor(p * Fraction(multiple) * Fraction(fraction, SCALE)) for p in points]
    assert arr.tolist() == expected
    assert [released_to_date_int64(p, num, den, fraction) for p in points] == expected
    assert [released_to_date(p, num, den, fraction) for p in points] == expected


# --- the lazy accumulator ----------------------------------------------------------------------

rates = st.one_of(
    st.integers(0, SCALE // 4),
    st.sampled_from([nominal_rate(40), nominal_rate(36), nominal_rate(3), 0, SCALE]),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, Decimal]], list[dict[int, int]]]:
    """A sequence of period rates, groups (start period, multiple) and holders' points per group."""
    period_rates = draw(st.lists(rates, min_size=1, max_size=15))
    n_groups = draw(st.integers(1, 4))
    groups = [
        (draw(st.integers(0, len(period_rates) - 1)), draw(st.sampled_from(MULTIPLES)))
        for _ in range(n_groups)
    ]
    holders = draw(st.lists(
        st.dictionaries(st.integers(0, n_groups - 1), st.integers(0, 10**9), min_size=1, max_size=n_groups),
        min_size=1, max_size=8,
    ))
    return period_rates, groups, holders


@given(histories())
@settings(max_examples=150, deadline=None)
def test_lazy_release_equals_naive_exact_release(
    history: tuple[list[int], list[tuple[int, Decimal]], list[dict[int, int]]],
) -> None:
    period_rates, groups, holders = history
    # the engine: one cumulative index per group, advanced once per period (O(groups))
    index = [0] * len(groups)
    # the naive model: every holding's own exact fraction, step by step, in Fractions
    exact = [[Fraction(0)] * len(groups) for _ in holders]
    for t, rho in enumerate(period_rates):
        for g, (start, _) in enumerate(groups):
            if t < start:
                continue
            index[g] = advance(index[g], rho)
            for h in range(len(holders)):
                exact[h][g] += min(Fraction(rho, SCALE), 1 - exact[h][g])

    for g, (_, multiple) in enumerate(groups):
        num, den = Fraction(multiple).numerator, Fraction(multiple).denominator
        members = [h for h, pts in enumerate(holders) if pts.get(g)]
        by_holder = 0
        for h in members:
            points = holders[h][g]
            lazy = released_to_date(points, num, den, index[g])
            naive = math.floor(points * Fraction(multiple) * exact[h][g])
            assert lazy == naive
            assert lazy <= points * Fraction(multiple)  # never more than the cap
            by_holder += lazy
        total_points = sum(holders[h][g] for h in members)
        group = GroupState(groups[g][0], multiple, total_points, index[g])
        remainder = group.released() - by_holder
        assert 0 <= remainder < max(1, len(members))


@given(histories())
@settings(max_examples=100, deadline=None)
def test_settling_lazily_posts_the_same_total_whenever_it_happens(
    history: tuple[list[int], list[tuple[int, Decimal]], list[dict[int, int]]],
) -> None:
    # a holder settled after every period, and one settled only at the end, receive the same
    period_rates, groups, holders = history
    index = [0] * len(groups)
    posted = [0] * len(holders)
    checkpoint = [0] * len(holders)

    def owed(h: int) -> int:
        return sum(
            released_to_date(p, Fraction(groups[g][1]).numerator, Fraction(groups[g][1]).denominator,
                             index[g])
            for g, p in holders[h].items()
        )

    for t, rho in enumerate(period_rates):
        for g, (start, _) in enumerate(groups):
            if t >= start:
                index[g] = advance(index[g], rho)
        for h in range(0, len(holders), 2):  # even holders settle every period
            now = owed(h)
            assert now >= checkpoint[h]  # releases never go backwards
            posted[h] += now - checkpoint[h]
            checkpoint[h] = now
    for h in range(len(holders)):
        posted[h] += owed(h) - checkpoint[h]
        assert posted[h] == owed(h)


# --- the budget controller --------------------------------------------------------------------

group_states = st.lists(
    st.builds(
        GroupState,
        start_period=st.integers(0, 50),
        multiple=st.sampled_from(MULTIPLES),
        points_cpts=st.one_of(st.just(0), st.integers(1, 10**10)),
        fraction=st.one_of(st.just(0), st.just(SCALE), st.integers(0, SCALE)),
    ),
    min_size=0,
    max_size=6,
)
max_rates = st.one_of(st.sampled_from([nominal_rate(40), nominal_rate(36), SCALE]), st.integers(1, SCALE))


def unfloored_release(groups: list[GroupState], rate: int) -> Fraction:
    """L(rho) = sum over active groups of V_g x min(rho, remaining_g), exactly."""
    return sum(
        (g.cap * Fraction(min(rate, SCALE - g.fraction), SCALE) for g in groups if g.active),
        Fraction(0),
    )


@given(group_states, st.one_of(st.integers(-100, 1000), st.integers(0, 10**12)), max_rates)
@settings(max_examples=300, deadline=None)
def test_affordable_rate_is_affordable_and_maximal(
    groups: list[GroupState], budget: int, max_rate: int
) -> None:
    rate = affordable_rate(groups, budget, max_rate)
    active = [g for g in groups if g.active]
    n = len(active)
    assert 0 <= rate <= max_rate
    if budget <= 0:
        assert rate == 0
        return
    assert release_at(groups, rate) <= budget
    if release_at(groups, max_rate) <= budget:
        assert rate == max_rate
    if rate < max_rate:
        # maximal for the budget lowered by one fen per group (the floors' allowance) ...
        assert unfloored_release(groups, rate + 1) > budget - n
        # ... so one more unit of rate would release more than budget - 2 x groups
        assert release_at(groups, rate + 1) > budget - 2 * n


def test_affordable_rate_edges() -> None:
    g = GroupState(1, D(5), 200_00, 0)  # cap 1000.00 yuan
    assert affordable_rate([], 100, nominal_rate(40)) == nominal_rate(40)
    assert affordable_rate([g], 0, nominal_rate(40)) == 0
    assert affordable_rate([g], -5, nominal_rate(40)) == 0
    assert affordable_rate([g], 25_00, nominal_rate(40)) == nominal_rate(40)  # 1/40 of 1000 = 25.00
    half = affordable_rate([g], 12_50, nominal_rate(40))
    assert release_at([g], half) <= 12_50
    assert release_at([g], half + 1) > 12_50 - 2
    done = GroupState(1, D(5), 200_00, SCALE)
    assert affordable_rate([done], 1, nominal_rate(40)) == nominal_rate(40)


# --- valves -----------------------------------------------------------------------------------

decimals = st.integers(0, 10**6).map(lambda n: D(n).scaleb(-4))


@given(st.integers(0, SCALE), decimals, st.integers(1, 10**6).map(lambda n: D(n).scaleb(-4)))
def test_growth_gated_rate_follows_growth_exactly(rate: int, growth: Decimal, threshold: Decimal) -> None:
    gated = growth_gated_rate(rate, growth, threshold)
    if growth >= threshold:
        assert gated == rate
    elif growth == 0:
        assert gated == 0
    else:
        assert gated == math.floor(rate * Fraction(growth) / Fraction(threshold))
        assert gated <= rate


def test_growth_gated_rate_edges() -> None:
    r = nominal_rate(40)
    assert growth_gated_rate(r, None, D("0.15")) == r
    assert growth_gated_rate(r, D("0.05"), D(0)) == r       # valve off
    assert growth_gated_rate(r, D("-0.02"), D("0.15")) == 0
    assert growth_gated_rate(r, D("0.15"), D("0.15")) == r
    # a third of the threshold: exactly a third of the rate (a Decimal quotient would round)
    assert growth_gated_rate(3 * 10**17, D("0.05"), D("0.15")) == 10**17


@given(st.integers(0, SCALE), st.integers(0, SCALE), st.integers(0, SCALE),
       st.integers(1, 100).map(lambda n: D(n) / 100))
def test_smoothed_rate_is_a_blend_never_above_affordable(
    previous: int, target: int, affordable: int, weight: Decimal
) -> None:
    smoothed = smoothed_rate(previous, target, affordable, weight)
    blend = math.floor(previous * (1 - Fraction(weight)) + target * Fraction(weight))
    assert smoothed == min(blend, affordable)
    assert smoothed <= affordable
    if affordable >= max(previous, target):
        assert min(previous, target) <= smoothed <= max(previous, target)


def test_smoothed_rate_with_full_weight_is_the_target() -> None:
    assert smoothed_rate(10, 30, 100, D(1)) == 30
    assert smoothed_rate(10, 30, 20, D(1)) == 20
    assert smoothed_rate(10, 30, 100, D("0.5")) == 20


@pytest.mark.parametrize("points", [1, 7, 200_00, 10**12])
def test_completed_holding_releases_its_whole_cap(points: int) -> None:
    for m in MULTIPLES:
        assert GroupState(0, m, points, SCALE).released() == math.floor(points * Fraction(m))
