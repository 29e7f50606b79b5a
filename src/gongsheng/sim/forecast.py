"""The forecast (预测): the simulator's engine run forward from the live books, Monte Carlo.

:func:`run_forecast` calibrates a scenario on a :class:`~gongsheng.domain.snapshot.BooksSnapshot`
(:mod:`gongsheng.sim.calibrate`) and runs :class:`~gongsheng.sim.engine.Engine` (the code of
``gongsheng simulate``) ``runs`` times over ``periods`` periods, each run started from the
books' state (:class:`~gongsheng.sim.start.StartState`). Run ``i`` draws from
``Generator(PCG64(SeedSequence(seed).spawn(runs)[i]))``: first its parameters (the calibration's
uncertainty), then everything the engine draws, so a forecast is reproducible from its seed and
run ``i`` equals ``Engine(calibration.scenario(periods, calibration.draw(rng)), rng, "fast",
start=calibration.start)`` with that generator.

Runs are in ``fast`` mode: float64 projections of money (the groups' fractions stay exact
integers); the live engine never uses them. Bands are p10 / p50 / p90 across runs.

Completion: all holdings release at one rate, so a holding's completion depends only on its
group's fraction now; for each run the period in which each group completes is read off that
run's rates (after the horizon, at the run's last rate; never, if that rate is zero).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.release import FORECAST_HORIZON, SCALE, nominal_rate
from gongsheng.domain.snapshot import BooksSnapshot
from gongsheng.sim.calibrate import WINDOW, Calibration, calibrate
from gongsheng.sim.engine import Engine
from gongsheng.sim.inflow import low_band
from gongsheng.sim.montecarlo import spawn, tune_allocator

Arr = npt.NDArray[Any]
BANDS = (10.0, 50.0, 90.0)
#: Figures the forecast keeps per run and period (keys of ``sim.figures.FIGURES``).
KEPT = ("gmv", "orders", "active", "release", "release_rate", "pool_available", "pool_reserved",
        "vouchers_outstanding", "pool_coverage", "pool_coverage_before_close", "platform_revenue",
        "partner_dividend", "pool_inflow", "vouchers_spent", "unreleased", "merchants", "coverage")


@dataclass(frozen=True)
class ForecastRun:
    """One run: its drawn parameters, its figures per period and its exact rates."""

    index: int
    values: Mapping[str, float]
    figures: Mapping[str, Arr]
    rates: tuple[int, ...]


@dataclass(frozen=True)
class Forecast:
    """The runs of a forecast and what it was calibrated on."""

    calibration: Calibration
    periods: int
    seed: int
    runs: tuple[ForecastRun, ...]

    @property
    def start(self) -> int:
        """The books' period of the forecast's first period (the open period)."""
        return self.calibration.snapshot.period

    def figure(self, key: str) -> Arr:
        """``[runs, periods]`` of one figure."""
        return np.stack([np.asarray(r.figures[key], float) for r in self.runs])

    def band(self, key: str) -> Arr:
        """``[3, periods]``: p10, p50, p90 across runs (NaN-aware)."""
        return bands(self.figure(key))


def bands(values: Arr) -> Arr:
    """p10 / p50 / p90 over the first axis of ``[runs, n]``, ignoring NaN; ``inf`` stays ``inf``."""
    v = np.asarray(values, float)
    out = np.full((len(BANDS), v.shape[1]), np.nan)
    ok = ~np.all(np.isnan(v), axis=0)
    if ok.any():
        out[:, ok] = np.nanpercentile(v[:, ok], BANDS, axis=0, method="linear")
    return out


def run_one(calibration: Calibration, periods: int, seed: np.random.SeedSequence,
            index: int) -> ForecastRun:
    """Run ``index`` of a forecast (what a worker executes)."""
    tune_allocator()
    rng = np.random.Generator(np.random.PCG64(seed))
    values = calibration.draw(rng)
    engine = Engine(calibration.scenario(periods, values), rng, "fast", seed=index,
                    start=calibration.start)
    engine.run()
    return ForecastRun(index, values, {k: engine.f[k].copy() for k in KEPT}, tuple(engine.rates))


def _run_local(calibration: Calibration, periods: int, seeds: list[np.random.SeedSequence],
               workers: int, progress: Callable[[int], None] | None) -> list[ForecastRun]:
    """The runs in ``workers`` local processes, in run order.

    On Linux the workers are forked (no re-import of the application, a second at most to
    start); a worker only runs NumPy code on its own copy of the calibration, never the parent's
    connections or threads. Elsewhere they are spawned.
    """
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out: list[ForecastRun | None] = [None] * len(seeds)
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_one, calibration, periods, s, i): i for i, s in enumerate(seeds)}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            if progress is not None:
                progress(1)
    return [r for r in out if r is not None]


def run_forecast(snap: BooksSnapshot, periods: int = 24, runs: int = 200, seed: int = 0,
                 policy: Mapping[str, Any] | None = None, scheduler: str | None = None,
                 progress: Callable[[int], None] | None = None, workers: int = 1) -> Forecast:
    """Calibrate on ``snap`` and run the forecast (``policy`` replaces the books' policy).

    ``workers > 1`` spreads the runs over that many local processes; run ``i`` still draws from
    ``spawn(seed, runs)[i]`` alone, so the forecast is the same figure for figure.
    """
    calibration = calibrate(snap, policy)
    seeds = spawn(seed, runs)
    if scheduler is None and workers > 1 and runs > 1:
        out = _run_local(calibration, periods, seeds, min(workers, runs), progress)
    elif scheduler is None:
        out = []
        for i, s in enumerate(seeds):
            out.append(run_one(calibration, periods, s, i))
            if progress is not None:
                progress(1)
    else:
        from distributed import Client

        with Client(scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            futures = [client.submit(run_one, calibration, periods, s, i, pure=False)
                       for i, s in enumerate(seeds)]
            out = list(client.gather(futures))
    return Forecast(calibration, periods, seed, tuple(out))


def completion_period(fraction: int, first: int, rates: tuple[int, ...]) -> float:
    """Forecast index of the period in which a group at ``fraction`` completes, releasing from
    index ``first`` on at ``rates`` (then at the last rate); ``inf`` if never."""
    left = SCALE - fraction
    if left <= 0:
        return float(first - 1)
    for i in range(max(first, 0), len(rates)):
        left -= rates[i]
        if left <= 0:
            return float(i)
    last = rates[-1] if rates else 0
    if last <= 0:
        return float("inf")
    return float(max(len(rates) - 1, first - 1) + -(-left // last))


def _band_list(values: Arr) -> list[float | None]:
    """p10 / p50 / p90 of a 1-D sample (``inf`` and NaN as None)."""
    v = np.asarray(values, float)
    with np.errstate(invalid="ignore"):  # between two infinite draws the band is inf - inf
        q = np.percentile(v, BANDS, method="linear") if np.isfinite(v).any() or np.isinf(v).any() \
            else [np.nan] * 3
    return [None if not np.isfinite(x) else round(float(x), 6) for x in q]


def holdings_bands(fc: Forecast) -> dict[str, list[int | None]]:
    """Per start period (books), the p10 / p50 / p90 books period in which its holdings complete.

    Covers every started group, the pending one (points of the open period) and a holding
    started in any forecast period (fraction 0 from that period on).
    """
    starts = {g.start_period: g.fraction for g in fc.calibration.snapshot.groups}
    for k in range(1, fc.periods + 1):
        starts.setdefault(fc.start + k, 0)
    out: dict[str, list[int | None]] = {}
    for start, fraction in sorted(starts.items()):
        first = start - fc.start if start > fc.start else 0
        done = np.array([completion_period(fraction, first, r.rates) for r in fc.runs])
        q = _band_list(done)
        out[str(start)] = [None if x is None else fc.start + int(np.ceil(x)) for x in q]
    return out


def outlook_band(snap: BooksSnapshot) -> list[int]:
    """The ``forecast`` controller's low band of inflow, from the open period on (stored)."""
    from gongsheng.sim.inflow import net_inflows

    history = net_inflows([r.pool_available_fen for r in snap.history],
                          [r.released_fen for r in snap.history])
    return low_band(history, FORECAST_HORIZON + 1) or []


def summary(fc: Forecast) -> dict[str, Any]:
    """The forecast as a JSON document: bands per figure, completion, calibration, controller."""
    snap, cal = fc.calibration.snapshot, fc.calibration
    periods = [fc.start + k for k in range(fc.periods)]
    figures: dict[str, dict[str, list[float | None]]] = {}
    for key in KEPT:
        b = fc.band(key)
        figures[key] = {name: [None if not np.isfinite(x) else round(float(x), 9) for x in row]
                        for name, row in zip(("p10", "p50", "p90"), b, strict=True)}
    new_start = str(fc.start + 1)
    held = holdings_bands(fc)
    new_holding = [None if x is None else x - fc.start for x in held[new_start]]
    rule = cal.scenario(1).policy.release
    nominal = nominal_rate(rule.nominal_periods)
    totals = {key: _band_list(fc.figure(key).sum(axis=1))
              for key in ("platform_revenue", "partner_dividend", "release", "gmv")}
    investment = snap.partner_investment_fen
    payback = None if not investment else [
        None if x is None else round(x / investment, 6) for x in totals["partner_dividend"]]
    return {
        "kind": "forecast", "starts_at_period": fc.start, "periods": periods, "runs": len(fc.runs),
        "seed": fc.seed, "controller": rule.controller.value, "policy_digest": snap.policy_digest,
        "nominal_rate": nominal / SCALE, "nominal_periods": rule.nominal_periods,
        "calibration": {
            "window_periods": min(len(snap.history), WINDOW), "alive_consumers": round(cal.alive, 1),
            "agents_scale": int(cal.base["consumers"]["scale"]),
            "estimates": [{"parameter": e.path, "mean": round(e.mean, 6), "se": round(e.se, 6),
                           "how": e.how} for e in cal.estimates]},
        "figures": figures,
        "new_holding_periods": dict(zip(("p10", "p50", "p90"), new_holding, strict=True)),
        "totals_over_horizon_fen": {k: dict(zip(("p10", "p50", "p90"), v, strict=True))
                                    for k, v in totals.items()},
        "partner_payback_share": None if payback is None else dict(
            zip(("p10", "p50", "p90"), payback, strict=True)),
        "partner_investment_fen": investment,
        "note": "a projection from the books, not a promise: the rate follows what the pool can pay",
    }


def headline(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers a policy comparison shows: release rate, completion, coverage, revenue, payback."""
    f = doc["figures"]
    last = len(doc["periods"]) - 1
    return {
        "release_rate_p50_first": f["release_rate"]["p50"][0],
        "release_rate_p50_last": f["release_rate"]["p50"][last],
        "release_rate_p10_last": f["release_rate"]["p10"][last],
        "new_holding_periods": doc["new_holding_periods"],
        "pool_coverage_p50_last": f["pool_coverage"]["p50"][last],
        "pool_coverage_p10_last": f["pool_coverage"]["p10"][last],
        "platform_revenue_fen": doc["totals_over_horizon_fen"]["platform_revenue"],
        "partner_dividend_fen": doc["totals_over_horizon_fen"]["partner_dividend"],
        "partner_payback_share": doc["partner_payback_share"],
        "controller": doc["controller"],
    }


__all__ = ["BANDS", "Forecast", "ForecastRun", "bands", "completion_period", "headline",
           "holdings_bands", "outlook_band", "run_forecast", "run_one", "summary"]
