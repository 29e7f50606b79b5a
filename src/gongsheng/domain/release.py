"""The release engine's arithmetic (动态分红): one rate per period, cumulative indexes per group.

Points earned in period t form, per cap multiple, a **group** that starts releasing in t+1. All
holdings release at one rate, so every member of a group has released the same fraction ``F_g``
of its cap. ``F_g`` is an integer scaled by :data:`SCALE` (exact), ``0 <= F_g <= SCALE``.

- A holding of ``p`` points with cap multiple ``m`` has cap ``V = p x m`` and has released, to
  date, ``floor(V x F_g)`` (:func:`released_to_date`): computed from the cumulative fraction, so
  per-period roundings never drift. Settling a holder posts the difference from its last
  settlement; a holder is never over-paid (floor) and the group's remainder,
  ``floor(V_g x F_g) - sum_h floor(V_hg x F_g)``, lies in ``[0, holders)``.
- Closing a period advances each active group by ``min(rho, SCALE - F_g)`` (:func:`advance`);
  the cost is O(groups), never O(holders).
- Under the ``budget`` controller, rho is the largest rate whose release the pool can pay
  (:func:`affordable_rate`): the release is piecewise linear in rho with one kink per group, solved
  exactly by sorting the groups by their remaining fraction.
- :func:`choose_rate` is the one choice of a period's rate (live close and simulator alike);
  ``forecast`` (:func:`lookahead_rate`) keeps, of the rates the pool can pay now, the highest
  that the pool could go on paying over an :class:`Outlook` of low-band inflows.

Every function uses integer operators only, so the simulator applies them to arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from gongsheng.domain.errors import PolicyError
from gongsheng.domain.money import apply_rate, ratio
from gongsheng.domain.policy import Controller, ReleaseRule

SCALE = 10**18
"""Fractions of a cap are integers scaled by this (1.0 == SCALE)."""


def nominal_rate(periods: int) -> int:
    """1/N of a cap, rounded up so that exactly N steps complete a holding."""
    return -(-SCALE // periods)


def released_to_date(points: Any, mult_num: int, mult_den: int, fraction: Any) -> Any:
    """``floor(points x multiple x F / SCALE)``: vouchers a holding has released to date (fen)."""
    return (points * mult_num * fraction) // (mult_den * SCALE)


_HALF_SCALE = 10**9
"""``SCALE == _HALF_SCALE ** 2``: a fraction splits into two halves of at most 10^9 each."""


def released_to_date_int64(points: Any, mult_num: int, mult_den: int, fraction: int) -> Any:
    """:func:`released_to_date`, exactly, without intermediate products above ``points x mult_num x 10^9``.

    Writing ``F = hi x 10^9 + lo`` and ``a = points x mult_num``:
    ``floor(a F / (den 10^18)) == floor((a hi + floor(a lo / 10^9)) / (den 10^9))``, because the
    dropped part ``(a lo mod 10^9) / 10^9`` is below one and the divisor is a whole number. So
    ``points`` may be a NumPy int64 array as long as ``points x mult_num < 2^63 / 10^9`` (about
    9.2e9 centi-points times the multiple's numerator); ``fraction`` is one group's scalar.
    """
    hi = fraction // _HALF_SCALE
    lo = fraction - hi * _HALF_SCALE
    a = points * mult_num
    return (a * hi + (a * lo) // _HALF_SCALE) // (mult_den * _HALF_SCALE)


def step(fraction: Any, rate: int) -> Any:
    """How far a group at ``fraction`` advances at ``rate``: ``min(rate, SCALE - fraction)``."""
    left = SCALE - fraction
    return left - (left - rate) * (left > rate)


def advance(fraction: Any, rate: int) -> Any:
    """The group's cumulative fraction after one period at ``rate``."""
    return fraction + step(fraction, rate)


@dataclass(frozen=True)
class GroupState:
    """One release group: its total points, cap multiple and cumulative released fraction."""

    start_period: int
    multiple: Decimal
    points_cpts: int
    fraction: int

    @property
    def cap(self) -> Fraction:
        return Fraction(self.points_cpts) * Fraction(self.multiple)

    def released(self, fraction: int | None = None) -> int:
        num, den = ratio(self.multiple)
        return int(released_to_date(self.points_cpts, num, den,
                                    self.fraction if fraction is None else fraction))

    def release_at(self, rate: int) -> int:
        """Fen this group releases (group level, floor of cumulative) if the period runs at ``rate``."""
        return self.released(int(advance(self.fraction, rate))) - self.released()

    @property
    def active(self) -> bool:
        return self.points_cpts > 0 and self.fraction < SCALE


_Term = tuple[int, int, int, int]


def _terms(groups: Sequence[GroupState]) -> list[_Term]:
    """Per active group ``(points x num, den x SCALE, F, floor(V F))``: what a release needs."""
    out = []
    for g in groups:
        if g.active:
            num, den = ratio(g.multiple)
            a, d = g.points_cpts * num, den * SCALE
            out.append((a, d, g.fraction, (a * g.fraction) // d))
    return out


def _release(terms: Sequence[_Term], rate: int) -> int:
    """``sum_g floor(V_g (F_g + step)) - floor(V_g F_g)``: :func:`release_at` on prepared terms."""
    total = 0
    for a, d, f, before in terms:
        left = SCALE - f
        total += (a * (f + (rate if rate < left else left))) // d - before
    return total


def release_at(groups: Sequence[GroupState], rate: int) -> int:
    """The period's total release at ``rate`` (what the close posts)."""
    return _release(_terms(groups), rate)


def _linear_rate(active: Sequence[GroupState], caps: Sequence[Fraction], target: Fraction) -> int:
    """The rate at which the unfloored release ``L(rho) = sum_g V_g min(rho, r_g) / SCALE``
    reaches ``target`` (``active`` sorted by remaining fraction ``r_g``, ``caps`` their ``V_g``),
    rounded down; the largest remaining fraction if ``L`` never reaches it."""
    spent = Fraction(0)                       # sum of V_i r_i / SCALE of exhausted groups
    tail = sum(caps, Fraction(0))             # sum of caps still running
    rate = 0
    for g, cap in zip(active, caps, strict=True):
        remaining = SCALE - g.fraction
        at_kink = spent + tail * remaining / SCALE
        if at_kink >= target:
            return int((target - spent) * SCALE / tail)
        spent += cap * remaining / SCALE
        tail -= cap
        rate = remaining
    return rate


def affordable_rate(groups: Sequence[GroupState], budget_fen: int, max_rate: int) -> int:
    """The largest rate ``<= max_rate`` whose release :func:`release_at` is ``<= budget_fen``.

    Exact: the unfloored release ``L(rho) = sum_g V_g min(rho, r_g) / SCALE`` is solved on the
    segment where the budget falls (groups sorted by remaining fraction ``r_g``); the floors of
    the group releases differ from ``L`` by less than one fen per group, so the solve with a
    budget lowered by the number of groups ``n`` gives a feasible start, the solve with a budget
    raised by ``n + 1`` an infeasible end (checked; else ``max_rate``), and between the two a
    bisection finds the exact largest rate (the release is non-decreasing in the rate):
    O(groups x log2(bracket)), the bracket spanning about ``2n`` fen of release.
    """
    active = sorted((g for g in groups if g.active), key=lambda g: SCALE - g.fraction)
    if not active or budget_fen <= 0:
        return 0 if budget_fen <= 0 else max_rate
    terms = _terms(active)
    if _release(terms, max_rate) <= budget_fen:
        return max_rate
    target = Fraction(budget_fen - len(active))
    if target <= 0:
        return 0
    caps = [Fraction(a, d) * SCALE for a, d, _, _ in terms]  # V_g = points x multiple
    lo = min(_linear_rate(active, caps, target), max_rate)
    while lo > 0 and _release(terms, lo) > budget_fen:  # floors: at most a few steps
        lo -= max(1, lo // 10**6)
    lo, hi = max(lo, 0), max_rate  # release_at(lo) <= budget < release_at(hi)
    above = _linear_rate(active, caps, Fraction(budget_fen + len(active) + 1)) + 1
    if lo < above < hi and _release(terms, above) > budget_fen:
        hi = above
    while hi - lo > 1:  # the release is non-decreasing in the rate: bisect to the exact maximum
        mid = (lo + hi) // 2
        if _release(terms, mid) <= budget_fen:
            lo = mid
        else:
            hi = mid
    return lo


def periods_to_complete(fraction: int, rate: int) -> int | None:
    """Periods a holding at ``fraction`` still needs at ``rate`` (a projection); None if never."""
    left = SCALE - fraction
    if left <= 0:
        return 0
    if rate <= 0:
        return None
    return -(-left // rate)


def rate_as_decimal(rate: int) -> Decimal:
    """A scaled rate as an exact decimal fraction of the cap (for reports and the API)."""
    return Decimal(rate) / Decimal(SCALE)


def smoothed_rate(previous: int, target: int, affordable: int, weight: Decimal) -> int:
    """``smoothed``: move from the previous rate toward the target by ``weight``; never above affordable."""
    num, den = ratio(weight)
    blended = (previous * (den - num) + target * num) // den
    return min(blended, affordable)


def growth_gated_rate(rate: int, growth: Decimal | None, threshold: Decimal) -> int:
    """The growth valve: below the growth threshold, the rate follows actual growth (0 if none)."""
    if growth is None or threshold <= 0 or growth >= threshold:
        return rate
    if growth <= 0:
        return 0
    g_num, g_den = ratio(growth)
    t_num, t_den = ratio(threshold)
    return rate * g_num * t_den // (g_den * t_num)  # exact: a Decimal quotient would round


FORECAST_HORIZON = 12
"""Periods the ``forecast`` controller looks ahead (a fixed horizon, documented in the policy file)."""


@dataclass(frozen=True)
class Outlook:
    """What the ``forecast`` controller knows of the periods after the one closing.

    ``inflow_fen[h]``: the low band (p10) of the pool's net inflow in the ``h + 1``-th period
    after the closing one (money the pool's available part receives, before releases);
    ``groups``: holdings not yet releasing (the open period's points, and projected new points),
    each with its start period. Invariant: inflows may be negative (refunds), never NaN.
    """

    inflow_fen: tuple[int, ...]
    groups: tuple[GroupState, ...] = ()


def projected_outlook(band: Sequence[int], period: int, pending: Sequence[GroupState]) -> Outlook | None:
    """The outlook when closing ``period``, from a low band of inflows that begins at ``period``.

    ``band[0]`` is the closing period's own low-band inflow, ``band[1:]`` the periods after it.
    ``pending``: the groups of the points earned in ``period`` (starting in ``period + 1``); the
    points of each later period ``period + h`` are projected as the pending points times
    ``band[h] / band[0]`` (points and the pool's share both follow the concessions). None when
    the band does not reach past ``period``.
    """
    if len(band) < 2:
        return None
    base = max(band[0], 1)
    future = [GroupState(period + 1 + h, g.multiple, g.points_cpts * max(band[h], 0) // base, 0)
              for h in range(1, len(band) - 1) for g in pending if g.points_cpts > 0]
    return Outlook(tuple(band[1:]), (*pending, *future))


def sustainable(groups: Sequence[GroupState], period: int, rate: int, available: int,
                outlook: Outlook) -> bool:
    """Whether the pool, starting from ``available``, pays ``rate`` in ``period`` and every
    period of the outlook (each group releasing once it has started), never going below zero
    (nor, where refunds take more than the inflow brings, below where the inflow alone would
    leave it: a rate of 0 is always sustainable).

    Each period's release is exactly :func:`release_at` of the groups due (floors of cumulative
    fractions), computed on plain integers.
    """
    pool = base = available
    state = []  # [start, points x numerator, denominator x SCALE, fraction, released]
    for g in (*groups, *outlook.groups):
        if g.active:
            num, den = ratio(g.multiple)
            state.append([g.start_period, g.points_cpts * num, den * SCALE, g.fraction,
                          (g.points_cpts * num * g.fraction) // (den * SCALE)])
    for h in range(len(outlook.inflow_fen) + 1):
        if h:
            pool += outlook.inflow_fen[h - 1]
            base += outlook.inflow_fen[h - 1]
        now = period + h
        for item in state:
            if item[0] > now or item[3] >= SCALE:
                continue
            left = SCALE - item[3]
            item[3] += rate if rate < left else left
            after = (item[1] * item[3]) // item[2]
            pool -= after - item[4]
            item[4] = after
        if pool < min(base, 0):
            return False
    return True


LOOKAHEAD_TOLERANCE = SCALE // 10**9
"""The ``forecast`` controller finds its rate to within 10^-9 of a cap (never above the maximum)."""


def lookahead_rate(groups: Sequence[GroupState], period: int, affordable: int, available: int,
                   outlook: Outlook) -> int:
    """``forecast``: the largest rate ``<= affordable`` that stays :func:`sustainable`.

    Never above what the pool can pay now (``affordable``, the ``budget`` bound). The release
    of every period is non-decreasing in the rate, so sustainability is monotone and a bisection
    finds the maximum to within :data:`LOOKAHEAD_TOLERANCE` (the rate returned is always
    sustainable): O(horizon x groups x 30).
    """
    if affordable <= 0 or sustainable(groups, period, affordable, available, outlook):
        return max(affordable, 0)
    lo, hi = 0, affordable  # sustainable(lo), not sustainable(hi)
    while hi - lo > LOOKAHEAD_TOLERANCE:
        mid = (lo + hi) // 2
        if sustainable(groups, period, mid, available, outlook):
            lo = mid
        else:
            hi = mid
    return lo


def choose_rate(rule: ReleaseRule, groups: Sequence[GroupState], available: int, gmv: int,
                growth: Decimal | None, previous: int | None, *, force: bool = False,
                period: int = 0, outlook: Outlook | None = None) -> tuple[int, int]:
    """``(rate, nominal)`` of a period under the rule's controller and valves (MODEL.md section 4).

    The one choice of the live close and the simulator. ``promise`` is refused unless ``force``
    (the simulator forces it to measure the gap); ``forecast`` without an ``outlook`` acts as
    ``budget``.
    """
    nominal = nominal_rate(rule.periods_for_growth(growth))
    if rule.controller is Controller.PROMISE:
        if not force:
            raise PolicyError(
                "the promise controller releases whatever the pool holds; the live engine refuses "
                "it unless forced (--force-promise), and then reports the unfunded amount")
        return nominal, nominal
    budget = max(available, 0)
    if rule.max_share_of_period_gmv is not None:
        budget = min(budget, int(apply_rate(gmv, rule.max_share_of_period_gmv)))
    ceiling = nominal
    if rule.growth_gate:
        ceiling = growth_gated_rate(nominal, growth, rule.growth_gate_threshold)
    affordable = affordable_rate(groups, budget, ceiling)
    if rule.controller is Controller.SMOOTHED:
        return smoothed_rate(previous if previous is not None else affordable, ceiling, affordable,
                             rule.smoothing), nominal
    if rule.controller is Controller.FORECAST and outlook is not None:
        return lookahead_rate(groups, period, affordable, max(available, 0), outlook), nominal
    return affordable, nominal
