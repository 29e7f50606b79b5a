"""Rounding feasibility (取整可行性): whether the rounded waterfall parts can ever exceed the concession.

For an order of G fen at concession rate r the concession is ``C = round(G r)`` and each named part
is rounded half up from its exact value: ``round(C a_i)`` for a part of ``a_i`` of the concession,
``round(G b_j)`` for a part of ``b_j`` of the order. A combination of rates is **feasible** when for
every amount ``G >= 0``::

    slack(G) = C - sum_i round(C a_i) - sum_j round(G b_j) >= 0

and only a feasible combination may be signed: every part is then paid exactly as rounded, a
vacant part goes to the pool, and no part ever depends on another. The exact shares summing to
at most 1 is *not* enough (r = 6%, a 3%-of-G part and 50% of C in other parts: at G = 84 fen,
C = 5 and the rounded parts are 1 + 1 + 1 + 3 + 0 = 6).

**The criterion.** Let ``A = sum a_i``, ``B = sum b_j`` and ``s = r (1 - A) - B`` (the exact pool's
share of G). Every half-up rounding error lies in (-1/2, 1/2], so ``slack(G) = G s + P(G)`` with
``P`` bounded and periodic; hence:

- ``s < 0``: infeasible (the slack tends to minus infinity);
- ``s > 0``: only amounts below ``(K - 1) / s`` can fail (``K`` the number of parts plus
  ``|1 - A|``, halved), a finite set;
- ``s = 0``: the slack is periodic in G; one period decides.

:func:`first_excess` decides this exactly, without walking the amounts. For each concession C only
the largest amount with that concession matters (order parts grow with G); write
``C = M k + c`` with ``M`` the common denominator of the ``a_i``, so that the concession parts are
linear in k for each residue c, and invert the order parts (for several order parts, per residue
of k as well). Then ``slack < 0`` at some amount of residue c exactly when
``floor(x_k) > floor(y_k)`` for some k, with x and y affine in k; over the range of k where
``x_k >= y_k`` every term ``floor(x_k) - floor(y_k)`` is ``>= 0``, so the sum of those terms,
computed by a floor sum in O(log) steps, is positive exactly when some amount fails. The cost is
O(M log) for one order part (M = 20 for the default policy), and O(M x W x B log) for several
(W the common denominator of the ``b_j``). When some amount fails, the smallest such amount is
returned, so every refusal names an order that would overpay.

Pure integer and :class:`~fractions.Fraction` arithmetic, standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from math import ceil, gcd, lcm

from gongsheng.domain.money import apply_ratio


def _part(base: int, share: Fraction) -> int:
    """``base x share`` rounded half up: the platform's one rule (:func:`money.apply_ratio`)."""
    return int(apply_ratio(base, share.numerator, share.denominator))


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum(floor((a i + b) / m) for i in range(n))`` for ``n >= 0``, ``m > 0``, in O(log m)."""
    total = 0
    if a < 0 or a >= m:
        total += n * (n - 1) // 2 * (a // m)
        a %= m
    if b < 0 or b >= m:
        total += n * (b // m)
        b %= m
    while True:
        if a >= m:
            total += n * (n - 1) // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        top = a * n + b
        if top < m:
            return total
        n, b = top // m, top % m
        m, a = a, m


Affine = tuple[int, int, int]  # (a, b, d): the value (a m + b) / d, d > 0


def _floor_gap_sum(x: Affine, y: Affine, lo: int, hi: int) -> int:
    """``sum(floor(x_m) - floor(y_m) for m in range(lo, hi))``."""
    n = hi - lo
    if n <= 0:
        return 0
    return (floor_sum(n, x[2], x[0], x[1] + x[0] * lo)
            - floor_sum(n, y[2], y[0], y[1] + y[0] * lo))


def _first_floor_above(x: Affine, y: Affine) -> int | None:
    """The least ``m >= 0`` with ``floor(x_m) > floor(y_m)``, or None when there is none.

    Where ``x_m < y_m`` the floors cannot be in that order; the rest of the half-line is one
    interval on which each term ``floor(x_m) - floor(y_m)`` is ``>= 0`` and positive exactly at the
    wanted m, so a floor sum tells whether it holds anywhere and a bisection finds the first.
    """
    unit = x[2] * y[2]  # x_m - y_m = (slope m + gap0) / unit
    slope, gap0 = x[0] * y[2] - y[0] * x[2], x[1] * y[2] - y[1] * x[2]
    if slope < 0:  # the exact slack grows: failures only while x_m >= y_m
        if gap0 < 0:
            return None
        lo, hi = 0, gap0 // -slope + 1
    elif slope == 0:  # periodic: x_m and y_m repeat (up to whole numbers) every unit steps
        if gap0 < 0:
            return None
        lo, hi = 0, unit
    else:  # the slack falls without bound: x_m >= y_m + 1 from some m on
        lo = max(0, -(gap0 // slope))
        hi = max(lo, -((gap0 - unit) // slope)) + 1
    if _floor_gap_sum(x, y, lo, hi) == 0:
        return None
    while hi - lo > 1:  # invariant: the first failure lies in [lo, hi)
        mid = (lo + hi) // 2
        if _floor_gap_sum(x, y, lo, mid) > 0:
            hi = mid
        else:
            lo = mid
    return lo


def _concession_slack(c: int, shares: Sequence[Fraction]) -> int:
    """``c - sum(round(c a))``: what the concession parts leave of a concession of c fen."""
    return c - sum(_part(c, a) for a in shares)


def _order_inverse(order: Sequence[Fraction]) -> tuple[int, int, list[int]]:
    """For several order parts, ``(W, P, table)`` with ``psi(y) = table[y % P] + W (y // P)``.

    ``psi(y)`` is the largest amount whose order parts sum to at most y when ``y >= 0`` and is
    negative when ``y < 0``: the order parts of ``G + W`` are those of G plus ``P = W B``.
    """
    w = lcm(*(b.denominator for b in order))
    p = sum(int(w * b) for b in order)
    table = [-1] * p
    amount, paid = 0, 0
    while paid < p:  # amounts 0, 1, ... until the order parts reach P (at G = W at the latest)
        nxt = sum(_part(amount + 1, b) for b in order)
        for y in range(paid, min(nxt, p)):
            table[y] = amount
        paid = max(paid, nxt)
        amount += 1
    return w, p, table


def first_excess(rate: Fraction, on_concession: Sequence[Fraction],
                 on_order: Sequence[Fraction]) -> int | None:
    """The least amount G (fen) whose rounded parts exceed its concession, None if there is none.

    ``rate`` is the concession rate, ``0 < rate <= 1``; ``on_concession`` the parts' shares of the
    concession and ``on_order`` their shares of the order amount (all ``>= 0``). ``None`` means
    the combination is feasible: at every amount ``sum(rounded parts) <= C``.
    """
    return _first_excess(rate, tuple(a for a in on_concession if a), tuple(b for b in on_order if b))


@lru_cache(maxsize=4096)
def _first_excess(rate: Fraction, conc: tuple[Fraction, ...],
                  order: tuple[Fraction, ...]) -> int | None:
    if not 0 < rate <= 1 or any(x < 0 for x in conc + order):
        raise ValueError("rates must satisfy 0 < rate <= 1 and shares >= 0")
    p, q = rate.numerator, rate.denominator
    m = lcm(*(a.denominator for a in conc)) if conc else 1
    lam = int(m * (1 - sum(conc, Fraction(0))))  # slack(M (k + 1) + c) = slack(M k + c) + lam
    slack = [_concession_slack(c, conc) for c in range(m)]
    first: int | None = None  # the least failing concession
    if not order:
        for c, s0 in enumerate(slack):
            if s0 < 0:
                k = 0
            elif lam < 0:
                k = s0 // -lam + 1
            else:
                continue
            first = m * k + c if first is None else min(first, m * k + c)
    else:
        if len(order) == 1:  # psi(y) = floor((2 w y + w - 1) / (2 u)) in closed form
            u, w = order[0].numerator, order[0].denominator
            pieces = [[(0, 1, (2 * w * lam, 2 * w * s0 + w - 1, 2 * u))] for s0 in slack]
        else:
            big_w, big_p, table = _order_inverse(order)
            period = big_p // gcd(lam, big_p)  # k mod period fixes y mod P
            scan = _scan_limit(rate, conc, order)
            if scan is not None and scan < m * period:  # fewer concessions than pieces: try each
                failing = next((c for c in range(scan + 1)
                                if excess(_largest_amount(p, q, c), rate, conc, order) > 0), None)
                return None if failing is None else _least_failing_amount(rate, conc, order, failing)
            step = big_w * lam * period // big_p
            pieces = [[(j, period, (step, table[(lam * j + s0) % big_p]
                                    + big_w * ((lam * j + s0) // big_p), 1))
                       for j in range(period)] for s0 in slack]
        for c, per_c in enumerate(pieces):
            for j, period, psi in per_c:
                # the largest amount of concession C = M (period n + j) + c, affine in n
                cm = m * period
                largest = (2 * q * cm, 2 * q * (m * j + c) + q - 1, 2 * p)
                n = _first_floor_above(largest, psi)
                if n is not None:
                    conc_fen = cm * n + m * j + c
                    first = conc_fen if first is None else min(first, conc_fen)
    if first is None:
        return None
    return _least_failing_amount(rate, conc, order, first)


def _largest_amount(p: int, q: int, conc_fen: int) -> int:
    """The largest amount whose concession at rate ``p / q`` is ``conc_fen``: G p / q < C + 1/2."""
    return (2 * q * conc_fen + q - 1) // (2 * p)


def _scan_limit(rate: Fraction, conc: Sequence[Fraction], order: Sequence[Fraction]) -> int | None:
    """When the exact pool's share ``s`` is positive, the largest concession that can fail.

    ``slack(G) >= G s - K`` with ``K = (n + |1 - A|) / 2`` (n parts, each rounding error and C's
    own within 1/2); a failing slack is at most -1, so ``G <= (K - 1) / s``.
    """
    a = sum(conc, Fraction(0))
    s = rate * (1 - a) - sum(order, Fraction(0))
    if s <= 0:
        return None
    k = Fraction(len(conc) + len(order), 2) + abs(1 - a) / 2
    return max(0, _part(max(0, ceil((k - 1) / s)), rate))


def _least_failing_amount(rate: Fraction, conc: Sequence[Fraction], order: Sequence[Fraction],
                          conc_fen: int) -> int:
    """The least amount of concession ``conc_fen`` whose rounded parts exceed it (one exists)."""
    amount = max(0, ceil((conc_fen - Fraction(1, 2)) / rate))
    while True:
        if excess(amount, rate, conc, order) > 0:
            return amount
        amount += 1


def rounded_parts(amount: int, rate: Fraction, on_concession: Sequence[Fraction],
                  on_order: Sequence[Fraction]) -> tuple[int, int]:
    """``(C, sum of the rounded parts)`` of an order of ``amount`` fen, straight from section 3."""
    conc = _part(amount, rate)
    return conc, (sum(_part(conc, a) for a in on_concession)
                  + sum(_part(amount, b) for b in on_order))


def excess(amount: int, rate: Fraction, on_concession: Sequence[Fraction],
           on_order: Sequence[Fraction]) -> int:
    """How many fen the rounded parts of an order of ``amount`` exceed its concession (or less)."""
    conc, paid = rounded_parts(amount, rate, on_concession, on_order)
    return paid - conc
