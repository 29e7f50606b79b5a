"""Money, points and rates: the one place where amounts are rounded.

- Money is integer **fen** (0.01 CNY); points are integer **centi-points**; vouchers are fen.
- A rate is an exact :class:`~decimal.Decimal`, turned into an integer ratio ``(num, den)``
  before it touches an amount, so no float is ever involved.
- Rounding rule (四舍五入): an amount computed from a rate is rounded half up to the unit
  (:func:`apply_rate`). Releases to holders round down (:func:`apply_ratio_floor`). Nowhere else
  is an amount rounded.
- Splits (:func:`split_pro_rata`) always return parts that sum exactly to the whole.

The arithmetic functions use only ``+ - * //`` on their amount arguments, so they work
element-wise on NumPy integer arrays too (the simulator relies on this).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Any, Final

from gongsheng.domain.errors import InvalidInput

FEN_PER_YUAN: Final = 100
CPTS_PER_POINT: Final = 100



def parse_rate(value: str | int | Decimal, *, name: str = "rate") -> Decimal:
    """A rate from a decimal string (``"0.15"``, ``"15%"``) or a Decimal; never from a float."""
    if isinstance(value, float):  # pragma: no cover - guarded by type checkers too
        raise InvalidInput(f"{name} must be a decimal string, not a float ({value!r})")
    if isinstance(value, Decimal):
        rate = value
    else:
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            rate = Decimal(text[:-1] if percent else text)
        except InvalidOperation:
            raise InvalidInput(f"{name} is not a decimal number: {value!r}") from None
        if percent and rate.is_finite():  # a NaN must not reach the division (sNaN raises)
            rate = rate / 100
    if not rate.is_finite():
        raise InvalidInput(f"{name} must be finite: {value!r}")
    return rate


@lru_cache(maxsize=1024)
def ratio(rate: Decimal) -> tuple[int, int]:
    """The exact integer ratio ``(num, den)`` of a decimal rate, ``den > 0`` (memoised: pure)."""
    frac = Fraction(rate)
    return frac.numerator, frac.denominator


def apply_rate(amount: Any, rate: Decimal) -> Any:
    """``round_half_up(amount x rate)`` for a non-negative amount: the platform's rounding rule."""
    num, den = ratio(rate)
    return apply_ratio(amount, num, den)


def apply_ratio(amount: Any, num: int, den: int) -> Any:
    """``round_half_up(amount x num / den)`` for non-negative amount and ratio (int or array)."""
    return (2 * amount * num + den) // (2 * den)


def apply_ratio_floor(amount: Any, num: int, den: int) -> Any:
    """``floor(amount x num / den)``: the rounding of releases to holders (never over-pay)."""
    return (amount * num) // den


def split_pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to non-negative ``weights``; the parts sum exactly to it.

    Largest-remainder method: each part is the floor of its exact share, and the fen left over
    go, one each, to the largest fractional remainders (ties to the earliest). Deterministic.
    """
    if total < 0:
        return [-p for p in split_pro_rata(-total, weights)]
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if total:
            raise InvalidInput("cannot split a non-zero amount over zero weights")
        return [0 for _ in weights]
    floors = [total * w // weight_sum for w in weights]
    remainders = [(total * w) % weight_sum for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def prorate(amount: int, part: int, whole: int) -> int:
    """The share of ``amount`` that ``part`` of ``whole`` carries, rounded half up.

    Used for partial refunds: refunding ``part`` of an order of ``whole`` reverses this much of
    each of the order's amounts. ``prorate(a, whole, whole) == a`` exactly.
    """
    if whole <= 0:
        raise InvalidInput("cannot prorate over a non-positive whole")
    if amount < 0:
        return -prorate(-amount, part, whole)
    return int(apply_ratio(amount, part, whole))


def yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals (``123456 -> '1234.56'``); for display only."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """A yuan amount string (``'1000'``, ``'12.5'``) as integer fen; more than 2 decimals is an error."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"not an amount in yuan: {text!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"not an amount in yuan: {text!r}")
    fen = Fraction(value) * FEN_PER_YUAN  # exact: Decimal multiplication rounds to 28 digits
    if fen.denominator != 1:
        raise InvalidInput(f"amount has more than two decimals: {text!r}")
    return fen.numerator
