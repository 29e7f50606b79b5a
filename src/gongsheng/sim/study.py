"""A study: the ensembles behind one report (the scenario or its sweep, and the derived answers).

:func:`plan` says how many runs a study takes (for the progress bar); :func:`run_study` runs
them. With wash-trading rings in the scenario (``abuse.merchant_share > 0``) the abuse study
(:mod:`gongsheng.sim.abuse`) runs too, with its own grid and runs.
The derived answers (promise shortfall, saturation, growth needed) use
``min(runs, extra_runs)`` runs each and the same master seed; with a sweep they are computed
for the first point only, and every point gets a summary row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gongsheng.sim import abuse as abuse_answers
from gongsheng.sim.abuse import AbuseStudy
from gongsheng.sim.answers import (
    Comparison,
    Earnings,
    GrowthSearch,
    Shortfall,
    earnings,
    growth_needed,
    promise_shortfall,
    saturation_effect,
)
from gongsheng.sim.montecarlo import Ensemble, Progress, grid_points, run_sweep
from gongsheng.sim.scenario import Mode, Scenario

GROWTH_STEPS = 7
GROWTH_RUNS = 2


@dataclass(frozen=True)
class Study:
    """Everything a report shows; ``ensembles[0]`` is the scenario (or the first sweep point)."""

    ensembles: tuple[Ensemble, ...]
    seed: int
    shortfall: Shortfall | None
    promise: Ensemble | None
    saturation: Comparison | None
    growth: GrowthSearch | None
    earnings: Earnings
    abuse: AbuseStudy | None = None

    @property
    def main(self) -> Ensemble:
        return self.ensembles[0]


def plan(runs: int, grid: Mapping[str, Sequence[Any]], answers: bool, extra_runs: int,
         scenario: Scenario | None = None) -> int:
    """How many runs :func:`run_study` will make (``scenario``: to count its abuse study)."""
    total = runs * len(grid_points(grid))
    if scenario is not None and scenario.abuse.enabled:
        total += abuse_answers.plan(scenario)
    if answers:
        extra = min(runs, extra_runs)
        total += 2 * extra + GROWTH_RUNS * (GROWTH_STEPS + 2)
    return total


def run_study(scenario: Scenario, runs: int, seed: int, mode: Mode | None = None,
              grid: Mapping[str, Sequence[Any]] | None = None, scheduler: str | None = None,
              answers: bool = True, extra_runs: int = 5,
              progress: Progress | None = None) -> Study:
    """Run the scenario (or its sweep) and, with ``answers``, the derived questions."""
    ensembles = run_sweep(scenario, grid or {}, runs, seed, mode, scheduler, progress)
    main = ensembles[0]
    shortfall = promise = saturation = growth = None
    if answers:
        extra = min(runs, extra_runs)
        shortfall, promise = promise_shortfall(main, extra, seed, scheduler, progress)
        if promise is main and progress is not None:
            progress(extra)
        saturation = saturation_effect(main, extra, seed, scheduler, progress)
        growth = growth_needed(main.scenario, seed, GROWTH_RUNS, GROWTH_STEPS,
                               scheduler=scheduler, progress=progress)
    abuse = (abuse_answers.abuse_study(scenario, seed, mode=mode, scheduler=scheduler,
                                       progress=progress) if scenario.abuse.enabled else None)
    return Study(tuple(ensembles), seed, shortfall, promise, saturation, growth, earnings(main),
                 abuse)
