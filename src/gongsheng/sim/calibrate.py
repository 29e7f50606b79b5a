"""Calibrating a scenario on the live books (标定): documented estimators with their uncertainty.

Every behaviour parameter the simulator needs is estimated from the closed periods' figures of a
:class:`~gongsheng.domain.snapshot.BooksSnapshot` over a window of the last :data:`WINDOW`
periods. Each estimate is a mean with its standard error (the sample standard deviation of the
per-period values over the square root of their number), or for the trending ones the mean
moved toward a line's last value as far as the evidence for a trend goes, with its error
(:func:`end_level`); a Monte Carlo run draws each parameter
from a normal distribution with that mean and error, clipped to its admissible range, so the
uncertainty of the calibration widens the bands. The estimators (t runs over the window):

- **alive consumers** ``A``: consumers who would order if their Poisson count allowed;
  ``A = active_last / P``, with ``P = 1 - (1 + lambda/k)^-k`` the chance that a consumer of
  gamma-distributed intensity (shape ``k``, mean 1) orders at least once at mean ``lambda``;
  ``A`` counts the last closed period, so the forecast's first period (the open one) starts
  from ``A x (1 + growth - churn)`` of the run's drawn growth and churn;
- **purchases** ``lambda`` (per alive consumer): solves ``lambda / P(lambda) = orders_t /
  active_t`` (the books count orders per *ordering* consumer), read at the window's last period
  off a least-squares line through the per-period values by the weight of the evidence for
  its slope (:func:`end_level`: the window's mean lags a ramp by ``(n - 1) / 2`` periods of it,
  the line's end value is three times as variable on level values), with that estimate's error;
- **growth** ``g_t = new_t / A_{t-1}`` (newcomers join the alive population);
- **churn** ``c_t = 1 - (A_t - new_t) / A_{t-1}``, clipped to [0, 0.5]; neighbouring values
  share an alive count, so its standard error allows for their lag-1 autocovariance
  (:func:`mean_error`);
- **order value** median ``aov_t x (1 - refund share_t) / exp(sigma^2 / 2)`` (lognormal values
  of the scenario's spread ``sigma``; refunds reverse every part pro rata, so they enter as a
  smaller value), read at the window's last period like ``lambda``;
- **consumers per merchant** ``A / (M + regions / 2)``, ``M`` the merchants signed: the
  simulator signs ``floor(consumers x region share / consumers per merchant)`` in each region,
  so ``A / M`` over-counts by the floors (half a merchant per region on average) and the
  forecast, flooring again, started with fewer merchants than the books had;
- **voucher spending**: the books show what consumers spent per voucher they held,
  ``e_t = spent_t / (outstanding_{t-1} x c)``, ``c`` the consumers' share of the vouchers held
  now (the live books record voucher spending only on orders, whose buyer is always a consumer,
  so merchants spend no vouchers in the forecast: assuming they spent like consumers, as
  before, put margin from merchants' mall spending into the forecast's pool that the books
  never see). ``e`` is not the simulator's ``spend_share`` (what a consumer offers of its
  balance): a consumer spends only on its orders, within each order's limit, so ``e`` is below
  the share, the more so as balances grow against order values. The share is therefore the one
  whose simulated first period, from the books' balances, spends ``e`` per voucher held
  (:func:`fitted_spend_share`: a method of simulated moments, by bisection on common random
  numbers); its error is ``e``'s scaled by ``share / e``. Taking ``e`` for the share counted
  the limits twice: the forecast spent 0.7 to 0.9 of what the backtest's histories spent, its
  vouchers outstanding grew too fast and the actual pool coverage six and twelve periods
  ahead lay above the band;
- **regions** as they are: each region's merchant universe and whether an active partner holds
  it (drawing which regions are held from the held share, by count, put the partner's part on
  the largest region in two runs of three where the books' largest region had no partner, and
  what a vacant partner's part pays into the pool went missing from the forecast's inflow);
- **channel mix** (shares of GMV at the mall and at brand flagships), **merchant mix** (category
  shares and rates, flagships, voucher opt-in, promoters as a share of the merchants in held
  regions, BMs and contract rates) and **referral / home merchant** shares: read as they are
  (no uncertainty drawn).

Parameters the books cannot tell (the intensity spread, the order value spread, the share of
alliance orders at the home merchant) keep the simulator's defaults. The policy is the books'
own (its per-holder spending valve, which the simulator does not model, switched off).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.snapshot import BooksSnapshot, MerchantMix
from gongsheng.sim.inflow import net_inflows
from gongsheng.sim.scenario import Scenario, scenario_from_mapping
from gongsheng.sim.start import StartState

WINDOW = 6
"""Closed periods the estimators average over: short enough to follow parameters that trend
(a 12-period window lagged a ramp and a fading growth by several periods in the backtest)."""
MAX_AGENTS = 4000
"""Simulated consumers at most: above, one agent stands for several real consumers."""
MIN_TREND = 4
"""Values needed to read a trending estimate off a line (below: the window's mean)."""
NO_DATA = " (no data: default)"
"""How an estimate made without data (the simulator's default) ends its ``how``."""
INTENSITY_SHAPE = 2.0
VALUE_SIGMA = 0.8


@dataclass(frozen=True)
class Estimate:
    """A parameter's estimate: mean, standard error, admissible range, and how it was made."""

    path: str
    mean: float
    se: float
    lo: float
    hi: float
    how: str

    def draw(self, rng: np.random.Generator) -> float:
        value = float(rng.normal(self.mean, self.se)) if self.se > 0 else self.mean
        return min(max(value, self.lo), self.hi)


def mean_error(values: Sequence[float], shared_levels: bool = False) -> float:
    """The standard error of the mean of ``values`` (at least two).

    Independent values: ``sd / sqrt(n)``. Values built from two consecutive levels each
    (``shared_levels``: value ``t`` uses the estimated levels of periods ``t - 1`` and ``t``, so
    one level's error enters two neighbouring values with opposite signs) are correlated at lag
    1, and their mean's variance is ``(g0 + 2 (n - 1) / n g1) / n``, ``g0`` the sample variance
    and ``g1`` the lag-1 autocovariance; never below ``g0 / n^2``, its value when the values are
    pure differences of independent levels (their mean telescopes to the first and last).
    """
    x = np.asarray(values, float)
    n = len(x)
    g0 = float(np.var(x, ddof=1))
    if not shared_levels:
        return math.sqrt(g0 / n)
    d = x - x.mean()
    g1 = float(np.dot(d[1:], d[:-1]) / (n - 1))
    return math.sqrt(max(g0 + 2 * (n - 1) / n * g1, g0 / n) / n)


def end_level(values: Sequence[float]) -> tuple[float, float]:
    """The level of ``values`` (one a period, at least three) at the last period: the window's
    mean moved along the least-squares line's slope by the weight of the evidence for a trend,
    with the error of that estimate.

    The line's end value ``ybar + b d`` (``d = (n - 1) / 2``, the last period's distance from the
    window's centre) is unbiased on a linear trend, but its variance ``s^2 / n + d^2 v`` (``s``
    the residual standard deviation, ``n - 2`` degrees of freedom; ``v = s^2 / Sxx`` the slope's
    variance) is about 3.1 times the mean's ``s^2 / n`` at ``n = 6``; the mean lags a trend
    ``beta`` by ``beta d``. The slope's estimate is uncorrelated with the mean, so with a normal
    prior of variance ``tau^2`` on the slope, its posterior mean is ``w b`` with
    ``w = tau^2 / (tau^2 + v)`` and posterior variance ``w v``. Estimating ``tau^2`` by ``b^2``
    (the evidence in this window), ``w = t^2 / (1 + t^2)``, ``t = b / sqrt(v)`` the slope's
    t-statistic: the level is ``ybar + w b d`` with error ``sqrt(s^2 / n + w d^2 v)``, near the
    mean and its error where the values show no trend, the line's end and its error where they
    show a clear one. Over level values (6 values, noise sd 0.1) it errs by 0.060 where the line's
    end errs by 0.072; where the trend is weak (a slope of 1 to 3 of its errors) it errs by up to
    0.079, and its reported error understates the actual one by 12-18% there (``w`` is itself
    estimated), by 12% on level values and by under 3% on a clear trend.
    """
    y = np.asarray(values, float)
    n = len(y)
    if n < 3:  # a line through two points leaves no residual to estimate its error from
        raise ValueError(f"end_level needs at least three values, not {n}")
    x = np.arange(n, dtype=float)
    dx = x - x.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * dx
    s2 = float(resid @ resid) / (n - 2)
    v = s2 / sxx
    evidence = slope * slope + v
    w = slope * slope / evidence if evidence > 0 else 0.0
    d = float(dx[-1])
    return float(y.mean()) + w * slope * d, math.sqrt(s2 / n + w * d * d * v)


def _estimate(path: str, values: Sequence[float], lo: float, hi: float, how: str,
              fallback: float, shared_levels: bool = False, trend: bool = False) -> Estimate:
    v = [x for x in values if math.isfinite(x)]
    if not v:
        return Estimate(path, fallback, 0.0, lo, hi, how + NO_DATA)
    if trend and len(v) >= MIN_TREND:
        mean, se = end_level(v)
        return Estimate(path, min(max(mean, lo), hi), se, lo, hi, how + ", at the window's end")
    mean = float(np.mean(v))
    se = mean_error(v, shared_levels) if len(v) > 1 else abs(mean) * 0.5
    return Estimate(path, min(max(mean, lo), hi), se, lo, hi, how)


def order_probability(lam: float, shape: float = INTENSITY_SHAPE) -> float:
    """P(at least one order) for a Poisson mean ``lam`` times a gamma(shape, 1/shape) intensity."""
    return float(1.0 - (1.0 + lam / shape) ** -shape)


def purchases_from_observed(per_active: float, shape: float = INTENSITY_SHAPE) -> float:
    """The Poisson mean ``lambda`` whose orders per ordering consumer are ``per_active``."""
    if not math.isfinite(per_active) or per_active <= 1.0:
        return 0.05
    lo, hi = 1e-6, 100.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if mid / order_probability(mid, shape) < per_active:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Calibration:
    """The scenario the books imply, its uncertain parameters and the state to start from."""

    snapshot: BooksSnapshot
    base: Mapping[str, Any]
    estimates: tuple[Estimate, ...]
    start: StartState
    alive: float

    def scenario(self, periods: int, values: Mapping[str, float] | None = None) -> Scenario:
        """The calibrated scenario over ``periods``, with drawn ``values`` (else the means)."""
        v = dict(values) if values is not None else {e.path: e.mean for e in self.estimates}
        raw = copy.deepcopy(dict(self.base))
        raw["simulation"]["periods"] = periods
        median = v.pop("orders.value_median_yuan")
        # alive is measured in the last closed period; the forecast's first period is the open
        # one, a period of growth and churn later
        grown = 1.0 + v.get("growth.monthly", 0.0) - v.get("consumers.churn", 0.0)
        raw["consumers"]["initial"] = max(1, round(self.alive * max(grown, 0.0)))
        for path, value in v.items():
            section, key = path.split(".")
            raw[section][key] = value
        raw["orders"]["mall_value_median_yuan"] = median
        for spec in raw["merchants"]["categories"].values():
            spec["value_median_yuan"] = median
        raw["orders"]["purchases_end"] = raw["orders"]["purchases_start"]
        raw["vouchers"]["merchant_spend_share"] = 0.0  # the books record no merchant spending
        return scenario_from_mapping(raw)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        """One run's parameters, drawn from the estimates (the run's first draws)."""
        return {e.path: e.draw(rng) for e in self.estimates}


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _regions(snap: BooksSnapshot, merchants: int, held_share: float) -> dict[str, Any]:
    """The books' regions as they are (each one's universe and whether a partner holds it), so
    that a forecast's partners hold the same share of the trade as the books' do; a snapshot
    without them gives the count, the total and the held share (the simulator then draws which
    regions are held, by count, whatever their size)."""
    if snap.region_universes:
        sizes = [u for u, _ in snap.region_universes]
        return {"count": len(sizes), "universe_total": sum(sizes), "partner_share": held_share,
                "universes": sizes, "held": [h for _, h in snap.region_universes]}
    return {"count": max(snap.regions, 1), "universe_total": max(snap.universe_total, merchants, 1),
            "partner_share": held_share}


def _promoter_share(mix: MerchantMix, held_share: float) -> float:
    """Promoters sign only in held regions: the share of the merchants there that one signed
    (from the count of merchants in held regions when the books give it)."""
    if mix.in_held_regions is not None:
        return min(1.0, _ratio(mix.promoted, mix.in_held_regions)) if mix.in_held_regions else 0.0
    return min(1.0, mix.promoted / max(mix.total, 1) / held_share) if held_share > 0 else 0.0


def calibrate(snap: BooksSnapshot, policy: Mapping[str, Any] | None = None) -> Calibration:
    """Estimate the scenario of ``snap`` (see the module docstring); ``policy`` replaces the books'."""
    if not snap.history:
        raise InvalidInput("a forecast needs at least one closed period of history")
    h = list(snap.history[-WINDOW:])
    per_active = [_ratio(r.orders, r.active_consumers) for r in h]
    lam = _estimate("orders.purchases_start", [purchases_from_observed(x) for x in per_active],
                    0.05, 20.0, "lambda / P(lambda) = orders / active consumers", 2.3,
                    trend=True)
    p = order_probability(lam.mean)
    alive = [r.active_consumers / p for r in h]
    before = [snap.history[-len(h) - 1].active_consumers / p] if len(snap.history) > len(h) else []
    prev = before + alive[:-1]
    skip = len(h) - len(prev)
    pairs = list(zip(prev, alive[skip:], h[skip:], strict=True))
    growth = _estimate("growth.monthly", [_ratio(r.new_consumers, a0) for a0, _, r in pairs],
                       0.0, 2.0, "new consumers / alive consumers of the period before", 0.0)
    churn = _estimate("consumers.churn",
                      [1 - _ratio(a1 - r.new_consumers, a0) for a0, a1, r in pairs],
                      0.0, 0.5, "1 - (alive - new) / alive of the period before", 0.02,
                      shared_levels=True)
    value = _estimate("orders.value_median_yuan",
                      [_ratio(r.gmv_fen - r.refunds_fen, r.orders) / 100 / math.exp(VALUE_SIGMA**2 / 2)
                       for r in h], 1.0, 1e6, "(GMV - refunds) / orders / exp(sigma^2 / 2)", 80.0,
                      trend=True)
    outstanding = [snap.history[-len(h) - 1].vouchers_outstanding_fen] if len(snap.history) > len(h) \
        else [0]
    outstanding += [r.vouchers_outstanding_fen for r in h[:-1]]
    held = snap.consumer_vouchers_fen + snap.merchant_vouchers_fen
    consumers_share = min(max(snap.consumer_vouchers_fen / held, 0.01), 1.0) if held > 0 else 1.0
    spend = _estimate("vouchers.spend_share",
                      [_ratio(r.vouchers_spent_fen, o * consumers_share)
                       for r, o in zip(h, outstanding, strict=True)],
                      0.0, 1.0, "vouchers spent / consumers' vouchers outstanding at the period's "
                      "start", 0.5, trend=True)
    estimates = (lam, growth, churn, value, spend)
    gmv = sum(r.gmv_fen for r in h)
    mix = snap.merchants
    n_alive = max(alive[-1], 1.0)
    scale = max(1, math.ceil(n_alive / MAX_AGENTS))
    total = max(mix.total, 1)
    rules = dict(policy if policy is not None else snap.policy)
    release = {**rules.get("release", {}), "holder_spend_cap_multiple": ""}
    rules["release"] = release
    categories = {f"{name} {rate}": {"share": n / total, "rate": rate}
                  for name, rate, n in mix.categories} or {"other": {"share": 1.0}}
    regions = max(snap.regions, 1)
    held_share = snap.held_regions / regions
    base: dict[str, Any] = {
        "name": "forecast", "description": f"calibrated on the books up to period {snap.period - 1}",
        "simulation": {"periods": 1, "runs": 1, "seed": 0, "mode": "fast"},
        "policy": rules,
        "consumers": {"initial": max(1, round(n_alive)), "scale": scale, "sampling": "constant",
                      "intensity_shape": INTENSITY_SHAPE,
                      "home_merchant_rate": _ratio(snap.homed_consumers, snap.registered_consumers)
                      if snap.registered_consumers else 0.0,
                      "referral_rate": _ratio(snap.referred_consumers, snap.registered_consumers)
                      if snap.registered_consumers else 0.0},
        "growth": {"consumers_per_merchant": max(n_alive / (mix.total + regions / 2), 0.01)},
        "regions": _regions(snap, mix.total, held_share),
        "merchants": {"categories": categories, "flagship_share": mix.flagships / total,
                      "voucher_opt_in": mix.accepting / total,
                      "promoter_share": _promoter_share(mix, held_share),
                      "bm_share": mix.bound / total,
                      "bm_contract_rates": {r: n / max(mix.bound, 1) for r, n in mix.bm_rates}},
        "orders": {"value_sigma": VALUE_SIGMA, "value_growth": 0.0,
                   "mall_share": min(1.0, _ratio(sum(r.gmv_mall_fen for r in h), gmv)) if gmv else 0.0,
                   "flagship_share": _ratio(sum(r.gmv_brand_fen for r in h), gmv) if gmv else 0.0,
                   "mall_rate": mix.mall_rate or "0.20"},
        "vouchers": {},
    }
    if base["orders"]["mall_share"] + base["orders"]["flagship_share"] > 1:
        base["orders"]["flagship_share"] = 1 - base["orders"]["mall_share"]
    if not mix.bm_rates:
        base["merchants"].pop("bm_contract_rates")
        base["merchants"]["bm_share"] = 0.0
    last = snap.history[-1]
    inflows = net_inflows([r.pool_available_fen for r in snap.history],
                          [r.released_fen for r in snap.history])
    start = StartState(
        period=snap.period, groups=snap.groups, pool_available_fen=snap.pool_available_fen,
        pool_reserved_fen=snap.pool_reserved_fen,
        consumer_vouchers_fen=snap.consumer_vouchers_fen,
        merchant_vouchers_fen=snap.merchant_vouchers_fen, last_gmv_fen=last.gmv_fen,
        last_rate=last.release_rate, inflow_history_fen=tuple(inflows))
    cal = Calibration(snap, base, estimates, start, n_alive)
    if policy is None:
        return fitted_spend_share(cal)
    # what consumers offer of their vouchers is their behaviour, measured under the rules the
    # books ran on; fitted under a proposed policy it would cancel that policy's own limits
    own = next(e for e in calibrate(snap).estimates if e.path == SPEND_PATH)
    return replace(cal, estimates=tuple(own if e.path == SPEND_PATH else e for e in estimates))


SPEND_PATH = "vouchers.spend_share"
PILOT_SEEDS = (0, 1, 2, 3)
"""Seeds of the pilot periods :func:`fitted_spend_share` simulates (the same for every trial
share, so the spending they give never decreases with the share)."""
PILOT_STEPS = 14
"""Bisection steps of the share (to within 1 / 2^14)."""


def pilot_spent(cal: Calibration, share: float) -> float:
    """Vouchers the calibrated scenario's first period spends per voucher the consumers hold,
    at ``share`` and the other estimates' means, over the :data:`PILOT_SEEDS` (fast mode)."""
    from gongsheng.sim.engine import Engine  # the engine's own period, not a copy of it

    values = {e.path: e.mean for e in cal.estimates} | {SPEND_PATH: share}
    spent = 0.0
    for seed in PILOT_SEEDS:
        engine = Engine(cal.scenario(1, values), np.random.default_rng(seed), "fast",
                        start=cal.start)
        engine.period(0)
        spent += float(engine.f["vouchers_spent"][0])
    return spent / (len(PILOT_SEEDS) * cal.start.consumer_vouchers_fen)


def fitted_spend_share(cal: Calibration) -> Calibration:
    """``cal`` with the spend share whose simulated first period spends what the books' last
    periods spent per voucher held (the module docstring); unchanged when consumers hold no
    vouchers, the books show no spending or the estimate had no data (the default stands).
    If a share of 1 spends less than the books did, the share is 1."""
    est = next(e for e in cal.estimates if e.path == SPEND_PATH)
    target = est.mean
    if cal.start.consumer_vouchers_fen <= 0 or not target > 0 or est.how.endswith(NO_DATA):
        return cal
    lo, hi = 0.0, 1.0
    if pilot_spent(cal, hi) <= target:
        lo = hi
    for _ in range(PILOT_STEPS if lo < hi else 0):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pilot_spent(cal, mid) > target else (mid, hi)
    share = (lo + hi) / 2
    fitted = Estimate(SPEND_PATH, share, est.se * share / target, est.lo, est.hi,
                      f"the share whose simulated first period spends {target:.4f} per voucher "
                      f"held ({est.how})")
    return replace(cal, estimates=tuple(fitted if e is est else e for e in cal.estimates))


__all__ = ["SPEND_PATH", "Calibration", "Estimate", "calibrate", "end_level", "fitted_spend_share",
           "mean_error", "order_probability", "pilot_spent", "purchases_from_observed"]
