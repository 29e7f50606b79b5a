"""money: rounding half up, floors, exact pro-rata splits, parsing of rates and yuan."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.money import (
    apply_rate,
    apply_ratio,
    apply_ratio_floor,
    parse_rate,
    parse_yuan,
    prorate,
    ratio,
    split_pro_rata,
    yuan,
)

amounts = st.integers(min_value=0, max_value=10**12)
# rates with up to 6 decimals, in [0, 2]: exact Decimals built from integers
rates = st.integers(min_value=0, max_value=2_000_000).map(lambda n: Decimal(n).scaleb(-6))


def half_up(x: Fraction) -> int:
    """Round half up, computed independently of the code under test."""
    return math.floor(x + Fraction(1, 2))


# --- ratio --------------------------------------------------------------------------------


@given(rates)
def test_ratio_is_the_exact_reduced_fraction(rate: Decimal) -> None:
    num, den = ratio(rate)
    assert den > 0
    assert math.gcd(num, den) == 1
    assert Fraction(num, den) == Fraction(str(rate))


def test_ratio_of_a_percent() -> None:
    assert ratio(Decimal("0.15")) == (3, 20)
    assert ratio(Decimal("2.25")) == (9, 4)


# --- apply_rate / apply_ratio / apply_ratio_floor ------------------------------------------


@given(amounts, rates)
def test_apply_rate_is_round_half_up_of_the_exact_product(amount: int, rate: Decimal) -> None:
    expected = (Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert apply_rate(amount, rate) == int(expected)
    assert apply_rate(amount, rate) == half_up(Fraction(amount) * Fraction(str(rate)))


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        (5, "0.1", 1),     # 0.5 -> 1
        (15, "0.1", 2),    # 1.5 -> 2
        (25, "0.1", 3),    # 2.5 -> 3 (banker's rounding would give 2)
        (14, "0.1", 1),    # 1.4 -> 1
        (249, "0.01", 2),  # 2.49 -> 2
        (250, "0.01", 3),  # 2.5 -> 3
        (0, "0.2", 0),
        (100000, "0.2", 20000),
    ],
)
def test_apply_rate_halves_go_up(amount: int, rate: str, expected: int) -> None:
    assert apply_rate(amount, Decimal(rate)) == expected


@given(amounts, st.integers(0, 10**6), st.integers(1, 10**6))
def test_apply_ratio_and_floor_match_fraction(amount: int, num: int, den: int) -> None:
    exact = Fraction(amount * num, den)
    assert apply_ratio(amount, num, den) == half_up(exact)
    assert apply_ratio_floor(amount, num, den) == math.floor(exact)


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=20), rates)
def test_apply_rate_works_element_wise_on_int64_arrays(values: list[int], rate: Decimal) -> None:
    arr = np.array(values, dtype=np.int64)
    out = apply_rate(arr, rate)
    assert out.dtype == np.int64
    assert out.tolist() == [apply_rate(v, rate) for v in values]


# --- split_pro_rata ---------------------------------------------------------------------------


@given(
    st.integers(-(10**12), 10**12),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
)
def test_split_pro_rata_sums_to_total_and_parts_are_within_one_of_exact(
    total: int, weights: list[int]
) -> None:
    parts = split_pro_rata(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Fraction(total * w, weight_sum)
        assert abs(part - exact) < 1
        if w == 0:
            assert part == 0


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_split_pro_rata_of_the_weight_sum_returns_the_weights(scale: int, weights: list[int]) -> None:
    # splitting exactly the weights' sum (or a multiple of it) has no remainder to distribute
    assert split_pro_rata(sum(weights) * scale, weights) == [w * scale for w in weights]


def test_split_pro_rata_leftover_goes_to_largest_remainders_ties_earliest() -> None:
    assert split_pro_rata(100, [1, 1, 1]) == [34, 33, 33]
    assert split_pro_rata(1, [1, 1]) == [1, 0]
    assert split_pro_rata(10, [1, 2]) == [3, 7]  # exact 3.33 / 6.67: the larger remainder gets it
    assert split_pro_rata(-100, [1, 1, 1]) == [-34, -33, -33]


def test_split_pro_rata_over_zero_weights() -> None:
    assert split_pro_rata(0, [0, 0]) == [0, 0]
    assert split_pro_rata(0, []) == []
    with pytest.raises(InvalidInput):
        split_pro_rata(1, [0, 0])
    with pytest.raises(InvalidInput):
        split_pro_rata(5, [])


# --- prorate ---------------------------------------------------------------------------------


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**12))
def test_prorate_of_the_whole_is_the_amount(amount: int, whole: int) -> None:
    assert prorate(amount, whole, whole) == amount
    assert prorate(amount, 0, whole) == 0


@given(st.integers(0, 10**12), st.data())
def test_prorate_is_half_up_and_odd(amount: int, data: st.DataObject) -> None:
    whole = data.draw(st.integers(1, 10**12))
    part = data.draw(st.integers(0, whole))
    assert prorate(amount, part, whole) == half_up(Fraction(amount * part, whole))
    assert prorate(-amount, part, whole) == -prorate(amount, part, whole)


@pytest.mark.parametrize("whole", [0, -5])
def test_prorate_refuses_a_non_positive_whole(whole: int) -> None:
    with pytest.raises(InvalidInput):
        prorate(100, 1, whole)


# --- parse_rate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.15", "0.15"),
        ("15%", "0.15"),
        (" 3% ", "0.03"),
        ("2.25", "2.25"),
        ("1", "1"),
        ("0.5%", "0.005"),
    ],
)
def test_parse_rate_reads_decimals_and_percents(text: str, expected: str) -> None:
    assert parse_rate(text) == Decimal(expected)


def test_parse_rate_keeps_a_decimal_and_reads_an_int() -> None:
    assert parse_rate(Decimal("0.2")) == Decimal("0.2")
    assert parse_rate(1) == Decimal(1)


@pytest.mark.parametrize(
    "text", ["abc", "", "%", "1.2.3", "nan", "NaN%", "sNaN", "sNaN%", "inf", "-Infinity", "inf%", "1,5"]
)
def test_parse_rate_refuses_non_numbers(text: str) -> None:
    with pytest.raises(InvalidInput, match="my_rate"):
        parse_rate(text, name="my_rate")


def test_parse_rate_refuses_a_decimal_nan() -> None:
    with pytest.raises(InvalidInput):
        parse_rate(Decimal("NaN"))


def test_parse_rate_refuses_a_float() -> None:
    with pytest.raises(InvalidInput, match="float"):
        parse_rate(0.15)  # type: ignore[arg-type]


# --- parse_yuan / yuan ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [("1000", 100000), ("1000.00", 100000), ("12.5", 1250), ("0.01", 1), (" 7.30 ", 730), ("0", 0)],
)
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["12.345", "0.001", "abc", "", "1,000", "inf", "-inf", "nan", "sNaN", "1e-3"]
)
def test_parse_yuan_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_yuan(text)


def test_parse_yuan_is_exact_beyond_decimal_precision() -> None:
    digits = "1234567890123456789012345678"  # 28 digits: x 100 exceeds the 28-digit context
    assert parse_yuan(digits + ".91") == int(digits + "91")
    with pytest.raises(InvalidInput):
        parse_yuan(digits + ".911")


@pytest.mark.parametrize(
    ("fen", "text"), [(123456, "1234.56"), (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (-100, "-1.00")]
)
def test_yuan_formats_two_decimals(fen: int, text: str) -> None:
    assert yuan(fen) == text


@given(st.integers(-(10**15), 10**15))
def test_yuan_round_trips_through_parse_yuan(fen: int) -> None:
    assert parse_yuan(yuan(fen)) == fen
