"""Release groups and per-holder books, vectorised (动态分红 for a whole population at once).

MODEL.md section 4 run over arrays, with the domain's arithmetic (:mod:`gongsheng.domain.release`):

- :class:`Groups` keeps one release group per (start period, cap multiple): its total points
  and its cumulative released fraction ``F_g`` (an exact integer scaled by ``SCALE``, the same
  for every member). The rate of a period is chosen over :class:`~gongsheng.domain.release.GroupState`
  values by the domain's controllers; :meth:`Groups.advance` moves every fraction with
  :func:`~gongsheng.domain.release.advance` applied to an int64 array.
- :class:`HolderBook` keeps, per holder (one array element) and per group, the points it holds,
  and derives what it has released to date from ``F_g`` alone: in exact mode
  ``floor(P_hg x multiple x F_g)`` summed over groups, with
  :func:`~gongsheng.domain.release.released_to_date_int64` (int64, no overflow); in fast mode the
  same product in float64, without the floor (a projection).

Invariants: ``0 <= F_g <= SCALE`` and never decreases; a holder's released-to-date never
decreases and never exceeds its caps; the holders of a group together are credited at most the
group-level release ``floor(V_g x F_g)`` (the remainder stays in the pool).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.money import ratio
from gongsheng.domain.release import (
    SCALE,
    GroupState,
    advance,
    released_to_date,
    released_to_date_int64,
)
from gongsheng.sim.scenario import Mode

Arr = npt.NDArray[Any]

#: The largest ``points x multiple numerator`` for which the int64 path cannot overflow.
INT64_SAFE = (2**63 - 1) // 10**9


class Groups:
    """The release groups of one cap multiple, one per start period, in start order."""

    def __init__(self, multiple: Decimal) -> None:
        self.multiple = multiple
        self.num, self.den = ratio(multiple)
        self.start: list[int] = []
        self.points: list[int] = []      # total points of each group, centi-points (real)
        self.fraction = np.zeros(0, np.int64)

    def add(self, start: int, points: int) -> None:
        """Open the group of points earned in period ``start - 1``; it first releases at ``start``."""
        self.start.append(start)
        self.points.append(points)
        self.fraction = np.append(self.fraction, np.int64(0))

    def states(self) -> list[GroupState]:
        """The groups as the domain's :class:`GroupState` values (for the rate controllers)."""
        return [GroupState(s, self.multiple, p, int(f))
                for s, p, f in zip(self.start, self.points, self.fraction, strict=True)]

    def advance(self, rate: int) -> int:
        """Advance every group at ``rate``; return the group-level release posted (fen)."""
        before = self.released()
        self.fraction = advance(self.fraction, rate)
        return self.released() - before

    def released(self) -> int:
        """Group-level vouchers released to date, ``sum_g floor(V_g x F_g)`` (fen)."""
        return sum(int(released_to_date(p, self.num, self.den, int(f)))
                   for p, f in zip(self.points, self.fraction, strict=True))

    def unreleased(self) -> int:
        """Entitlement not yet released: ``sum_g floor(V_g x m) - floor(V_g x m x F_g)`` (fen)."""
        cap = sum(int(released_to_date(p, self.num, self.den, SCALE)) for p in self.points)
        return cap - self.released()


class HolderBook:
    """Per-holder points by group, vouchers released to date and voucher balance.

    Columns are added one per period; ``released`` is a pure function of the group fractions, so
    settling every holder each period equals settling each lazily when next touched.

    A **cohort** (:meth:`add_cohort`) is a column in which the first ``count`` holders hold the
    same points, or (after :meth:`weigh_cohorts`) those points times a fixed per-holder profile
    (the books' groups spread over the holders at the start of a forecast): in fast mode a
    holder's release is linear in its points, so each cohort's release is computed once, as one
    scalar, and added to those holders together (times the profile), O(holders) per period
    whatever the number of cohorts.
    """

    def __init__(self, size: int, multiple: Decimal, mode: Mode) -> None:
        self.mode = mode
        self.num, self.den = ratio(multiple)
        dtype = np.int64 if mode == "exact" else np.float64
        self.columns: list[Arr] = []       # points per holder, one array per group
        self.done = np.zeros(size, dtype)  # released by groups already complete
        self.released = np.zeros(size, dtype)
        self.balance = np.zeros(size, dtype)  # vouchers held, spendable (fen)
        self._open: list[int] = []         # group index of each column still releasing
        self._index: list[Arr | None] = []  # holders of each sparse column (None: dense)
        self._cohorts: list[tuple[int, Arr, int]] = []  # (group, points each as a 1-array, count)
        self._cohorts_done = np.zeros(1, dtype)         # released per holder by complete cohorts
        self._cohort_count = 0
        self._profile: Arr | None = None  # per-holder multiple of the cohorts' points (fast mode)

    def add_column(self, group: int, points: Arr) -> None:
        """Points each holder earned into ``group``; holders past ``len(points)`` earned none.

        A sparse column (most holders earned nothing) keeps only its holders with points, so
        settling it costs O(its holders), not O(all holders); the result is the same.
        """
        held = np.flatnonzero(points)
        if 4 * len(held) < len(points):
            self.columns.append(points[held])
            self._index.append(held)
        else:
            self.columns.append(points)
            self._index.append(None)
        self._open.append(group)

    def add_cohort(self, group: int, each: int | float, count: int) -> None:
        """The first ``count`` holders each hold ``each`` points of ``group`` (one cohort).

        All cohorts of a book share one ``count`` (the holders present at the start).
        """
        if self._cohorts and count != self._cohort_count:
            raise ValueError("every cohort of a book covers the same holders")
        self._cohort_count = count
        self._cohorts.append((group, np.full(1, each, self.done.dtype), count))

    def weigh_cohorts(self, profile: Arr) -> None:
        """Holder ``i`` of the cohorts holds ``profile[i]`` times a cohort's points (fast mode).

        ``profile`` covers the cohorts' holders and has mean 1, so a cohort's total is kept.
        """
        if self.mode != "fast" or len(profile) != self._cohort_count:
            raise ValueError("a profile weighs the cohorts of a fast-mode book, one per holder")
        self._profile = np.asarray(profile, np.float64)

    def _cohort_share(self, each: Arr) -> Any:
        """What each of the cohorts' holders gets of a per-holder cohort amount ``each``."""
        return each[0] * self._profile if self._profile is not None else each[0]

    def settle(self, fraction: Arr) -> Arr:
        """Credit every holder with its release since the last settlement; return the increments."""
        total = self.done.copy()
        if self._cohorts:
            each = self._cohorts_done.copy()
            open_cohorts = []
            for group, points, count in self._cohorts:
                f = int(fraction[group])
                part = self._released(points, f)
                if f >= SCALE:
                    self._cohorts_done += part
                else:
                    open_cohorts.append((group, points, count))
                each += part
            self._cohorts = open_cohorts
            total[: self._cohort_count] += self._cohort_share(each)
        elif self._cohort_count:
            total[: self._cohort_count] += self._cohort_share(self._cohorts_done)
        keep: list[int] = []
        for col, g in enumerate(self._open):
            f = int(fraction[g])
            part = self._released(self.columns[col], f)
            where = self._index[col]
            if where is None:
                n = len(part)
                if f >= SCALE:
                    self.done[:n] += part
                else:
                    keep.append(col)
                total[:n] += part
            else:
                if f >= SCALE:
                    self.done[where] += part
                else:
                    keep.append(col)
                total[where] += part
        self.columns = [self.columns[c] for c in keep]
        self._index = [self._index[c] for c in keep]
        self._open = [self._open[c] for c in keep]
        increment: Arr = total - self.released
        self.released = total
        self.balance += increment
        return increment

    def mark_settled(self, fraction: Arr) -> None:
        """Count the release to date at ``fraction`` as credited, without crediting it.

        A start from the books: the groups arrive with the fractions they reached, and what they
        released before is already in the balances the books hold (or was spent); the next
        :meth:`settle` credits only what is released from now on.
        """
        self.balance -= self.settle(fraction)

    def withdraw(self, holders: Arr, fraction: Arr) -> tuple[dict[int, int | float], int | float]:
        """Cancel the unreleased entitlement of ``holders`` (a forfeit; MODEL.md section 4's
        lowering of ``V_hg``): their points leave every group still releasing, what they were
        credited stays credited. Returns the points taken out of each group (per holder, before
        any weight) and the entitlement cancelled (fen, per holder summed)."""
        taken: dict[int, int | float] = {}
        cancelled: int | float = 0
        for col, g in zip(self.columns, self._open, strict=True):
            here = holders[holders < len(col)]
            points = col[here]
            total = points.sum()
            if not len(here) or not total:
                continue
            f = int(fraction[g])
            cap = self._released(points, SCALE) - self._released(points, f)
            cancelled += cap.sum().item()
            taken[g] = taken.get(g, 0) + total.item()
            col[here] = 0
        self.released[holders] = self.done[holders]
        return taken, cancelled

    def _released(self, points: Arr, fraction: int) -> Arr:
        if fraction == 0:
            return np.zeros(len(points), points.dtype)
        if self.mode == "fast":
            return points * (self.num * (fraction / SCALE) / self.den)
        if len(points) and int(points.max()) * self.num > INT64_SAFE:
            wide = released_to_date(points.astype(object), self.num, self.den, fraction)
            return np.asarray(wide, dtype=np.int64)
        return np.asarray(released_to_date_int64(points, self.num, self.den, fraction))
