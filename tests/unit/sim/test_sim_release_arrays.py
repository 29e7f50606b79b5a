"""The vectorised release equals the scalar domain functions (property tests)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.money import ratio
from gongsheng.domain.release import (
    SCALE,
    GroupState,
    advance,
    release_at,
    released_to_date,
    released_to_date_int64,
)
from gongsheng.sim.holdings import Groups, HolderBook

MULTIPLES = st.sampled_from([Decimal(5), Decimal("2.25"), Decimal("1.5"), Decimal("7.25")])
FRACTIONS = st.integers(0, SCALE)
POINTS = st.lists(st.integers(0, 10**8), min_size=1, max_size=40)
RATES = st.integers(0, SCALE // 3)


@given(POINTS, MULTIPLES, FRACTIONS)
def test_int64_release_equals_scalar(points: list[int], multiple: Decimal, fraction: int) -> None:
    num, den = ratio(multiple)
    got = released_to_date_int64(np.array(points, np.int64), num, den, fraction)
    assert got.dtype == np.int64
    assert got.tolist() == [released_to_date(p, num, den, fraction) for p in points]


@given(st.lists(FRACTIONS, min_size=1, max_size=30), RATES)
def test_advance_over_arrays_equals_scalar(fractions: list[int], rate: int) -> None:
    arr = advance(np.array(fractions, np.int64), rate)
    assert arr.tolist() == [advance(f, rate) for f in fractions]
    assert all(0 <= f <= SCALE for f in arr.tolist())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10**6), min_size=6, max_size=6), min_size=1, max_size=6),
       st.lists(RATES, min_size=1, max_size=8), MULTIPLES,
       st.lists(st.integers(1, 3), min_size=6, max_size=6))
def test_holder_book_equals_scalar_groups(columns: list[list[int]], rates: list[int],
                                          multiple: Decimal, weights: list[int]) -> None:
    """Per holder: released == sum over groups of the domain's floor; holders never exceed the group."""
    num, den = ratio(multiple)
    w = np.array(weights, np.int64)
    groups, book = Groups(multiple), HolderBook(6, multiple, "exact")
    posted = 0
    for g, col in enumerate(columns):
        pts = np.array(col, np.int64)
        states = groups.states()
        rate = rates[g % len(rates)]
        expected = release_at(states, rate)
        posted += groups.advance(rate)
        assert posted == sum(GroupState(0, multiple, p, 0).released(int(f))
                             for p, f in zip(groups.points, groups.fraction, strict=True))
        book.settle(groups.fraction)
        assert expected == sum(
            s.release_at(rate) for s in states if s.active)
        groups.add(g + 1, int((pts * w).sum()))
        book.add_column(g, pts)
    book.settle(groups.fraction)
    for h in range(6):
        scalar = sum(released_to_date(columns[g][h], num, den, int(groups.fraction[g]))
                     for g in range(len(columns)))
        assert int(book.released[h]) == scalar
    credited = int((book.released * w).sum())
    assert 0 <= groups.released() - credited < int(w.sum()) * len(columns) + 1


@given(POINTS, MULTIPLES, FRACTIONS)
def test_fast_release_is_the_unfloored_projection(points: list[int], multiple: Decimal,
                                                  fraction: int) -> None:
    num, den = ratio(multiple)
    fast = HolderBook(len(points), multiple, "fast")
    fast.add_column(0, np.array(points, np.float64))
    fast.settle(np.array([fraction], np.int64))
    exact = [released_to_date(p, num, den, fraction) for p in points]
    assert np.all(fast.released >= np.array(exact) - 1e-6)
    assert np.all(fast.released < np.array(exact) + 1 + 1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 11), st.integers(1, 10**6)), min_size=0, max_size=4),
       st.lists(RATES, min_size=1, max_size=8), MULTIPLES, st.integers(1, 12))
def test_cohorts_and_sparse_columns_equal_the_scalar_release(
        cohorts: list[int], sparse: list[tuple[int, int]], rates: list[int], multiple: Decimal,
        count: int) -> None:
    """A cohort (the first ``count`` holders alike) and a sparse column release per holder
    exactly what the domain's floor gives each holder's points."""
    num, den = ratio(multiple)
    size = 12
    book = HolderBook(size, multiple, "exact")
    fraction = np.zeros(len(cohorts) + 1, np.int64)
    for g, each in enumerate(cohorts):
        book.add_cohort(g, each, count)
    column = np.zeros(size, np.int64)
    for holder, pts in sparse:
        column[holder] = pts
    book.add_column(len(cohorts), column)
    for rate in rates:
        fraction = advance(fraction, rate)
        book.settle(fraction)
        for h in range(size):
            expected = released_to_date(int(column[h]), num, den, int(fraction[-1]))
            if h < count:
                expected += sum(released_to_date(each, num, den, int(f))
                                for each, f in zip(cohorts, fraction[:-1].tolist(), strict=True))
            assert int(book.released[h]) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=4),
       st.lists(st.floats(0.05, 5.0), min_size=1, max_size=10),
       st.lists(RATES, min_size=1, max_size=6), MULTIPLES)
def test_weighed_cohorts_release_each_holder_its_profile_times_the_even_share(
        cohorts: list[int], weights: list[float], rates: list[int], multiple: Decimal) -> None:
    """With a profile, holder i of the cohorts is credited ``profile[i]`` times what an even
    holder is (fast mode), and the cohorts' holders together get what they would evenly."""
    count = len(weights)
    profile = np.array(weights) * (count / sum(weights))
    even, weighed = HolderBook(count, multiple, "fast"), HolderBook(count, multiple, "fast")
    for g, each in enumerate(cohorts):
        even.add_cohort(g, float(each), count)
        weighed.add_cohort(g, float(each), count)
    weighed.weigh_cohorts(profile)
    fraction = np.zeros(len(cohorts), np.int64)
    for rate in rates:
        fraction = advance(fraction, rate)
        even.settle(fraction)
        weighed.settle(fraction)
        np.testing.assert_allclose(weighed.released, even.released * profile, rtol=1e-12)
        assert abs(weighed.released.sum() - even.released.sum()) <= 1e-9 * max(even.released.sum(), 1)


def test_only_a_fast_book_with_one_weight_per_holder_takes_a_profile() -> None:
    exact = HolderBook(3, Decimal(5), "exact")
    exact.add_cohort(0, 10, 3)
    with pytest.raises(ValueError):
        exact.weigh_cohorts(np.ones(3))
    fast = HolderBook(3, Decimal(5), "fast")
    fast.add_cohort(0, 10.0, 3)
    with pytest.raises(ValueError):
        fast.weigh_cohorts(np.ones(2))
