"""MODEL.md section 3 computed the slow, obvious way, to check the engine against.

- :func:`reference_split`: C rounded half up from G r; each named part rounded half up from its
  exact value (of C or of G); vacant parts to the pool; the pool is the rest. Exact Fractions.
- :func:`brute_first_excess`: the least amount whose rounded parts exceed C, found by trying
  every amount up to a bound that provably contains it (NumPy, vectorised), or None.

The bound: with ``s = r (1 - A) - B`` (A, B the parts' shares of C and of G) and every half-up
rounding error within 1/2, ``slack(G) >= G s - (n + |1 - A|) / 2`` for n parts; a negative
integer slack is at most -1, so for ``s > 0`` no amount above ``((n + |1 - A|) / 2 - 1) / s``
fails, for ``s < 0`` every amount above ``(n + |1 - A|) / (2 |s|)`` fails, and for ``s = 0`` the
slack repeats with period ``lcm(q M / gcd(M, p), W)`` (r = p / q, M and W the denominators).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def reference_split(gross: int, rate: Fraction, parts: Sequence[tuple[Fraction, bool]],
                    present: Sequence[bool]) -> tuple[int, list[int], int]:
    """``(C, per part amount, pool)``; ``parts`` holds ``(share, of_order)``."""
    conc = half_up(gross * rate)
    amounts = [half_up((gross if of_order else conc) * share) for share, of_order in parts]
    pool = conc - sum(a for a, here in zip(amounts, present, strict=True) if here)
    return conc, amounts, pool


def search_bound(rate: Fraction, conc: Sequence[Fraction], order: Sequence[Fraction]) -> int:
    """An amount below which the least failing amount must lie, if there is one."""
    a, b = sum(conc, Fraction(0)), sum(order, Fraction(0))
    s = rate * (1 - a) - b
    k = Fraction(len(conc) + len(order) + 1, 2) + abs(1 - a) / 2  # half a fen of margin
    if s > 0:
        return max(0, math.floor((k - 1) / s)) + 2
    if s < 0:
        return math.floor(k / -s) + 2
    m = math.lcm(1, *(x.denominator for x in conc))
    w = math.lcm(1, *(x.denominator for x in order))
    return math.lcm(rate.denominator * m // math.gcd(m, rate.numerator), w) + 1


def _rounded(amount: np.ndarray, share: Fraction) -> np.ndarray:
    n, d = share.numerator, share.denominator
    return (2 * amount * n + d) // (2 * d)


def brute_first_excess(rate: Fraction, conc: Sequence[Fraction], order: Sequence[Fraction],
                       limit: int) -> int | None:
    """The least amount in ``[0, limit)`` whose rounded parts exceed its concession, or None."""
    step = 1 << 20
    for lo in range(0, limit, step):
        g = np.arange(lo, min(limit, lo + step), dtype=np.int64)
        c = _rounded(g, rate)
        paid = sum((_rounded(c, a) for a in conc), np.zeros_like(g))
        paid = paid + sum((_rounded(g, b) for b in order), np.zeros_like(g))
        bad = np.flatnonzero(paid > c)
        if len(bad):
            return int(g[bad[0]])
    return None
