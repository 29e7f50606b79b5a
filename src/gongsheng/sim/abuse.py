"""The abuse question: does wash trading pay, and what do holds and detection change?

:func:`abuse_study` runs a scenario with wash-trading rings (:mod:`gongsheng.sim.rings`) over a
grid of release controller x ``abuse.hold_periods`` x ``abuse.detection_rate`` (the controllers
of ``abuse.study_controllers``, else the policy's own) and, beside it, the same scenario without
rings (``abuse.merchant_share = 0``) under each controller. Every point and the baseline use the same seeds
(common random numbers): the same honest population, orders and draws, the same rings, the same
uniform behind each ring's detection. Per point, over its runs:

- ``gain_per_ring``: mean net gain of a ring to the horizon (fen): what the rings cashed minus
  the concessions they paid, divided by the rings signed;
- ``gain_over_spend``: the rings' net gain over the concessions they paid (the return on the
  scheme: 0.5 means every yuan of concession brought 1.5 back);
- ``release_share``: the rings' share of every voucher released over the horizon;
  ``cashed_share``: the share they kept (cashed) once forfeits are taken out;
- ``completion_delay``: how many release periods later the honest holdings earned in the first
  half of the run complete than without rings (mean over those holdings; actual, or projected
  at the last rate; holdings that never complete left out);
- ``deficit_extra``: how much more the pool owes at the end than without rings (its deficit,
  released vouchers it cannot fund: under ``promise`` the rings' take shows here, not as delay).

:attr:`AbuseStudy.break_even` answers "at what settings does the scheme stop paying its
abusers": per controller and hold, the lowest detection rate of the grid at which a ring's mean net gain is at
most zero (and the crossing interpolated between the two grid rates around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.sim.montecarlo import Ensemble, Progress, run_sweep
from gongsheng.sim.scenario import Mode, Scenario

Arr = npt.NDArray[Any]
CONTROLLER = "policy.release.controller"
HOLD = "abuse.hold_periods"
DETECTION = "abuse.detection_rate"


@dataclass(frozen=True)
class AbusePoint:
    """One (controller, hold, detection rate) setting: means over its runs (money in fen)."""

    controller: str
    hold: int
    detection: float
    rings: float
    detected_share: float
    concession: float
    cashed: float
    forfeited: float
    gain_per_ring: float
    gain_over_spend: float
    release_share: float
    cashed_share: float
    completion_delay: float
    deficit_extra: float


@dataclass(frozen=True)
class AbuseStudy:
    """The grid of :func:`abuse_study`, its baseline's completion, and the scenario's own point."""

    points: tuple[AbusePoint, ...]
    controllers: tuple[str, ...]
    holds: tuple[int, ...]
    rates: tuple[float, ...]
    runs: int
    baseline_completion: dict[str, float]
    scenario_point: AbusePoint

    def gain(self, controller: str, hold: int) -> list[float]:
        """Mean net gain per ring (fen), one value per detection rate of the grid."""
        return [p.gain_per_ring for p in self.points
                if p.controller == controller and p.hold == hold]

    def point(self, controller: str, hold: int, detection: float) -> AbusePoint | None:
        return next((p for p in self.points
                     if (p.controller, p.hold, p.detection) == (controller, hold, detection)), None)

    @property
    def break_even(self) -> dict[tuple[str, int], tuple[float | None, float | None]]:
        """Per (controller, hold): (lowest grid rate with gain <= 0, interpolated crossing),
        ``(None, None)`` when no rate of the grid stops the scheme paying."""
        out: dict[tuple[str, int], tuple[float | None, float | None]] = {}
        for key in ((c, h) for c in self.controllers for h in self.holds):
            gains = self.gain(*key)
            first = next((i for i, g in enumerate(gains) if g <= 0), None)
            if first is None:
                out[key] = (None, None)
            elif first == 0:
                out[key] = (self.rates[0], self.rates[0])
            else:
                g0, g1 = gains[first - 1], gains[first]
                r0, r1 = self.rates[first - 1], self.rates[first]
                out[key] = (r1, r0 + (r1 - r0) * g0 / (g0 - g1) if g0 != g1 else r1)
        return out


def early_completion(ens: Ensemble) -> Arr:
    """Per run: mean release periods of the holdings earned in the first half (finite ones)."""
    out = []
    for r in ens.runs:
        c = r.completion[: max(1, r.periods // 2)]
        c = c[np.isfinite(c)]
        out.append(float(c.mean()) if len(c) else np.nan)
    return np.array(out)


def end_deficit(ens: Ensemble) -> Arr:
    """Per run: the pool's deficit at the end (fen)."""
    deficit: Arr = np.nan_to_num(ens.figure("pool_deficit")[:, -1])
    return deficit


def measure(ens: Ensemble, baseline: Ensemble, controller: str, hold: int,
            detection: float) -> AbusePoint:
    """The point's figures (see the module docstring) from its ensemble and the baseline's."""

    def per_run(key: str) -> Arr:
        total: Arr = np.nansum(ens.figure(key), axis=1)
        return total

    rings = ens.figure("abuse_rings_signed")[:, -1]
    conc, cashed = per_run("abuse_concession"), per_run("abuse_cashed")
    gain = cashed - conc
    forfeited = per_run("abuse_forfeited_held") + per_run("abuse_forfeited_unreleased")
    release = per_run("release")
    with np.errstate(invalid="ignore", divide="ignore"):
        per_ring = np.where(rings > 0, gain / rings, np.nan)
        over = np.where(conc > 0, gain / conc, np.nan)
        rshare = np.where(release > 0, per_run("abuse_released") / release, np.nan)
        cshare = np.where(release > 0, cashed / release, np.nan)
        detected = np.where(rings > 0, per_run("abuse_detected") / rings, np.nan)
    delay = early_completion(ens) - early_completion(baseline)
    deficit = end_deficit(ens) - end_deficit(baseline)

    def mean(x: Arr) -> float:
        return float(np.nanmean(x)) if np.any(~np.isnan(x)) else float("nan")

    return AbusePoint(controller, hold, detection, mean(rings), mean(detected), mean(conc), mean(cashed),
                      mean(forfeited), mean(per_ring), mean(over), mean(rshare), mean(cshare),
                      mean(delay), mean(deficit))


def controllers_of(scenario: Scenario) -> tuple[str, ...]:
    """The controllers the study compares: ``abuse.study_controllers``, else the policy's."""
    return scenario.abuse.study_controllers or (scenario.policy.release.controller.value,)


def abuse_study(scenario: Scenario, seed: int, runs: int | None = None, mode: Mode | None = None,
                holds: Sequence[int] | None = None, rates: Sequence[float] | None = None,
                scheduler: str | None = None, progress: Progress | None = None) -> AbuseStudy:
    """Run the grid and the baselines without rings (same seeds); see the module docstring."""
    a = scenario.abuse
    n = runs or a.study_runs
    cs = controllers_of(scenario)
    hs = tuple(sorted(set(holds if holds is not None else a.study_holds)))
    rs = tuple(sorted(set(rates if rates is not None else a.study_detection_rates)))
    plain = scenario.with_values({"abuse.merchant_share": 0.0})
    bases = dict(zip(cs, run_sweep(plain, {CONTROLLER: list(cs)}, n, seed, mode, scheduler,
                                   progress), strict=True))
    grid: dict[str, list[Any]] = {CONTROLLER: list(cs), HOLD: list(hs), DETECTION: list(rs)}
    points = tuple(
        measure(e, bases[str(e.values[CONTROLLER])], str(e.values[CONTROLLER]),
                int(e.values[HOLD]), float(e.values[DETECTION]))
        for e in run_sweep(scenario, grid, n, seed, mode, scheduler, progress))
    own = (scenario.policy.release.controller.value, a.hold_periods, a.detection_rate)
    mine = next((p for p in points if (p.controller, p.hold, p.detection) == own), None)
    if mine is None:
        ens = run_sweep(scenario, {}, n, seed, mode, scheduler, progress)[0]
        base = bases.get(own[0]) or run_sweep(plain, {}, n, seed, mode, scheduler, progress)[0]
        mine = measure(ens, base, *own)
    completion = {c: float(np.nanmean(early_completion(b))) for c, b in bases.items()}
    return AbuseStudy(points, cs, hs, rs, n, completion, mine)


def plan(scenario: Scenario, runs: int | None = None) -> int:
    """How many runs :func:`abuse_study` makes (the scenario's own point counted if off-grid)."""
    a = scenario.abuse
    n = runs or a.study_runs
    cs = controllers_of(scenario)
    grid = len(cs) * len(set(a.study_holds)) * len(set(a.study_detection_rates))
    controller = scenario.policy.release.controller.value
    own = (controller in cs and a.hold_periods in a.study_holds
           and a.detection_rate in a.study_detection_rates)
    return n * (len(cs) + grid + (0 if own else 1 + (0 if controller in cs else 1)))


__all__ = ["AbusePoint", "AbuseStudy", "abuse_study", "controllers_of", "early_completion",
           "measure", "plan"]
