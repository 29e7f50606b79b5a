"""The questions the simulator answers, derived from ensembles of runs.

- :func:`completion_bands`: release periods a holding earned in period k takes to complete.
- :func:`growth_needed`: the constant monthly growth at which the policy's controller keeps the
  nominal promise (every period's rate at least ``1 / nominal_periods``), by bisection over
  growth on a reduced replica of the scenario (cohort sampling: a fixed number of simulated
  consumers per month whose weights carry the growth, coverage fade off).
- :func:`saturation_effect`: the scenario against itself without the coverage fade.
- :func:`promise_shortfall`: under ``promise``, when the pool stops covering the vouchers
  outstanding, and the unfunded amount.
- :func:`earnings`: partners' and BMs' yearly earnings against the seed's claims.
- the share of releases funded by the period's new concessions is a per-period figure
  (``funded_by_new``) with bands like every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.release import nominal_rate
from gongsheng.sim.montecarlo import Ensemble, Progress, quantiles, run_ensemble
from gongsheng.sim.scenario import Mode, Scenario

Arr = npt.NDArray[Any]
YUAN = 100.0

#: The seed article's claims, in yuan per year.
CLAIM_TOP_PARTNER_YUAN = 3_270_000.0
CLAIM_PARTNER_DIVIDEND_SHARE = 0.70
CLAIM_BM_YUAN = 1_000_000.0


def completion_bands(ensemble: Ensemble) -> Arr:
    """``[3, starts]``: p5/p50/p95 of the periods a holding earned in period k takes."""
    return quantiles(np.stack([r.completion for r in ensemble.runs]))


def keeps_promise(rates: Arr, nominal_periods: int) -> bool:
    """True when every period with a release ran at least at ``1 / nominal_periods``."""
    floor = nominal_rate(nominal_periods) / 10**18 * (1 - 1e-12)
    running = rates[1:]
    return bool(np.all(running[~np.isnan(running)] >= floor))


@dataclass(frozen=True)
class GrowthSearch:
    """Bisection over constant monthly growth: the tried values and the answer.

    ``needed`` is the lowest growth found that keeps the promise in at least half of the runs
    (``None`` when even ``high`` does not); ``tried`` lists ``(growth, share of runs kept)``.
    """

    needed: float | None
    low: float
    high: float
    tried: tuple[tuple[float, float], ...]
    periods: int


def growth_replica(scenario: Scenario, growth: float, agents: int = 300) -> Scenario:
    """The scenario at a constant growth, over ``nominal_periods + 2`` periods, coverage fade off."""
    periods = scenario.policy.release.nominal_periods + 2
    return scenario.with_values({
        "growth.monthly": growth, "growth.stop_at": 0, "growth.fade_from": 1.0,
        "consumers.sampling": "cohort", "consumers.agents_per_cohort": agents,
        "simulation.periods": periods,
        "regions.universe_total": min(scenario.regions.universe_total, 20_000),
    })


def growth_needed(scenario: Scenario, seed: int, runs: int = 2, steps: int = 8,
                  low: float = 0.0, high: float = 0.8, mode: Mode = "fast",
                  scheduler: str | None = None, progress: Progress | None = None) -> GrowthSearch:
    """The constant monthly growth needed to keep the nominal promise (bisection, ``steps`` halvings)."""
    n = scenario.policy.release.nominal_periods
    tried: list[tuple[float, float]] = []

    def kept(growth: float) -> bool:
        ens = run_ensemble(growth_replica(scenario, growth), runs, seed, mode, scheduler, progress)
        share = float(np.mean([keeps_promise(r.figures["release_rate"], n) for r in ens.runs]))
        tried.append((growth, share))
        return share >= 0.5

    if not kept(high):
        return GrowthSearch(None, low, high, tuple(tried), n + 2)
    if kept(low):
        return GrowthSearch(low, low, high, tuple(tried), n + 2)
    lo, hi = low, high
    for _ in range(steps):
        mid = (lo + hi) / 2
        if kept(mid):
            hi = mid
        else:
            lo = mid
    return GrowthSearch(hi, low, high, tuple(sorted(tried)), n + 2)


@dataclass(frozen=True)
class Comparison:
    """Summary figures (p50 over runs) of a scenario and of a variant of it."""

    label: str
    variant_label: str
    rows: tuple[tuple[str, float, float], ...]   # (figure, scenario, variant)


def summary_rows(ens: Ensemble) -> dict[str, float]:
    """The headline figures of an ensemble (medians over runs)."""

    def med(key: str) -> float:
        return float(np.nanmedian(ens.figure(key)[:, -1]))

    comp = completion_bands(ens)[1]
    return {
        "registered consumers at the end": med("registered"),
        "merchant coverage at the end": med("coverage"),
        "GMV over the horizon (yuan)": float(np.median(ens.figure("gmv").sum(axis=1))) / YUAN,
        "release rate in the last period": med("release_rate"),
        "periods a holding of period 0 takes": float(comp[0]) if len(comp) else np.nan,
        "periods a holding of the middle period takes":
            float(comp[len(comp) // 2]) if len(comp) else np.nan,
        "unreleased entitlement at the end (yuan)": med("unreleased") / YUAN,
    }


def compare(base: Ensemble, variant: Ensemble, variant_label: str) -> Comparison:
    a, b = summary_rows(base), summary_rows(variant)
    return Comparison(base.label, variant_label, tuple((k, a[k], b[k]) for k in a))


def saturation_effect(base: Ensemble, runs: int, seed: int, scheduler: str | None = None,
                      progress: Progress | None = None) -> Comparison:
    """The scenario against the same scenario whose acquisition never fades with coverage.

    Both sides use the same ``runs`` seeds (the first runs of ``base``), so any difference is
    the fade's.
    """
    variant = run_ensemble(base.scenario.with_values({"growth.fade_from": 1.0}), runs, seed,
                           base.mode, scheduler, progress)
    same = Ensemble(base.scenario, base.mode, base.runs[:runs], base.values)
    return compare(same, variant, "without saturation (no fade)")


@dataclass(frozen=True)
class Shortfall:
    """Under ``promise``: first period with pool coverage below 1 (per run), and the unfunded amount."""

    first_short: Arr         # per run; NaN when the pool always covered
    max_unfunded_fen: Arr    # per run: the largest pool deficit (vouchers released unfunded)
    coverage_bands: Arr      # [3, periods]

    @property
    def runs_short(self) -> int:
        return int(np.sum(~np.isnan(self.first_short)))


def shortfall_of(ens: Ensemble) -> Shortfall:
    firsts = []
    for r in ens.runs:
        short = np.flatnonzero(r.figures["flag_pool_short"] > 0)
        firsts.append(float(short[0]) if len(short) else np.nan)
    return Shortfall(np.array(firsts), ens.figure("pool_deficit").max(axis=1),
                     ens.bands("pool_coverage"))


def promise_shortfall(base: Ensemble, runs: int, seed: int, scheduler: str | None = None,
                      progress: Progress | None = None) -> tuple[Shortfall, Ensemble]:
    """Run the scenario under ``promise`` (unless it already is) and measure the shortfall."""
    if base.scenario.policy.release.controller.value == "promise":
        return shortfall_of(base), base
    ens = run_ensemble(base.scenario.with_values({"policy.release.controller": "promise"}),
                       runs, seed, base.mode, scheduler, progress)
    return shortfall_of(ens), ens


@dataclass(frozen=True)
class Earnings:
    """Yearly earnings (yuan) over all runs, and the seed's claims beside them."""

    partner_total: Arr        # dividends + team commissions, every held region of every run
    partner_dividend: Arr
    top_partner: Arr          # per run: the largest partner total
    top_partner_dividend_share: Arr  # per run: that partner's dividends / total
    bm: Arr                   # every BM of every run
    year_periods: int

    @property
    def bm_share_over_claim(self) -> float:
        return float(np.mean(self.bm >= CLAIM_BM_YUAN)) if len(self.bm) else 0.0

    @property
    def runs_top_partner_over_claim(self) -> float:
        return float(np.mean(self.top_partner > CLAIM_TOP_PARTNER_YUAN))


def earnings(ens: Ensemble) -> Earnings:
    """Partners' and BMs' earnings over the last year of every run (scaled to 12 periods)."""
    totals, divs, tops, shares, bms = [], [], [], [], []
    year = ens.runs[0].year_periods
    per_year = 12 / year
    for r in ens.runs:
        div = r.partner_dividend / YUAN * per_year
        total = div + r.partner_team / YUAN * per_year
        totals.append(total)
        divs.append(div)
        if len(total):
            i = int(np.argmax(total))
            tops.append(total[i])
            shares.append(div[i] / total[i] if total[i] else np.nan)
        bms.append(r.bm_income / YUAN * per_year)

    def cat(xs: list[Arr]) -> Arr:
        return np.concatenate(xs) if xs else np.zeros(0)

    return Earnings(cat(totals), cat(divs), np.array(tops), np.array(shares), cat(bms), year)
