"""The forecast: the simulator's engine started from the books' state, deterministic per seed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.adapters.policy_file import load_policy
from gongsheng.domain.release import SCALE, GroupState, nominal_rate, release_at
from gongsheng.domain.snapshot import BooksSnapshot, MerchantMix, PeriodRecord
from gongsheng.sim.calibrate import (
    SPEND_PATH,
    calibrate,
    end_level,
    fitted_spend_share,
    mean_error,
    order_probability,
    pilot_spent,
    purchases_from_observed,
)
from gongsheng.sim.engine import Engine
from gongsheng.sim.forecast import completion_period, holdings_bands, run_forecast, summary
from gongsheng.sim.montecarlo import spawn
from gongsheng.sim.population import build_schedule


def books(periods: int = 6, controller: str = "budget") -> BooksSnapshot:
    """A small platform's books after ``periods`` closes: 400 consumers growing 5% a period."""
    policy = dict(load_policy().source)
    policy["release"] = {**policy["release"], "controller": controller}
    history = []
    active = 300
    for k in range(1, periods + 1):
        new = 15 + k
        active = int(active * 0.97) + new
        gmv = active * 3 * 9000
        history.append(PeriodRecord(
            period=k, gmv_fen=gmv, gmv_mall_fen=gmv // 10, gmv_brand_fen=gmv // 10,
            orders=active * 3, active_consumers=active, new_consumers=new,
            registered_consumers=400 + 20 * k, merchants=20, refunds_fen=gmv // 50,
            vouchers_spent_fen=200_000 * k, vouchers_outstanding_fen=600_000 * k,
            pool_available_fen=50_000 * k, pool_reserved_fen=600_000 * k,
            released_fen=300_000 * k, release_rate=nominal_rate(40)))
    groups = tuple(GroupState(s, m, 2_000_000, (periods - s + 1) * nominal_rate(40))
                   for s in range(2, periods + 1) for m in (Decimal(5), Decimal("2.25")))
    groups += (GroupState(periods + 1, Decimal(5), 500_000, 0),)
    return BooksSnapshot(
        period=periods + 1, policy=policy, policy_digest="x", groups=groups,
        pool_available_fen=300_000, pool_reserved_fen=3_600_000, voucher_debt_fen=10_000,
        consumer_vouchers_fen=2_600_000, merchant_vouchers_fen=1_000_000, history=tuple(history),
        registered_consumers=520, referred_consumers=200, homed_consumers=300,
        merchants=MerchantMix(categories=(("catering", "0.15", 12), ("retail", "0.10", 8)),
                              flagships=2, accepting=14, promoted=10, bound=16,
                              bm_rates=(("0.01", 10), ("0.02", 6)), total=20, mall_rate="0.20"),
        regions=3, universe_total=100, held_regions=2, partner_investment_fen=10**7)


def test_a_forecast_run_is_the_simulator_run_from_the_same_state_and_seed() -> None:
    snap = books()
    fc = run_forecast(snap, periods=5, runs=3, seed=11)
    cal = calibrate(snap)
    for i, seq in enumerate(spawn(11, 3)):
        rng = np.random.Generator(np.random.PCG64(seq))
        values = cal.draw(rng)
        engine = Engine(cal.scenario(5, values), rng, "fast", seed=i, start=cal.start)
        engine.run()
        assert fc.runs[i].values == values
        assert tuple(engine.rates) == fc.runs[i].rates
        for key, got in fc.runs[i].figures.items():
            np.testing.assert_array_equal(got, engine.f[key], err_msg=key)
    again = run_forecast(snap, periods=5, runs=3, seed=11)
    assert [r.rates for r in again.runs] == [r.rates for r in fc.runs]
    other = run_forecast(snap, periods=5, runs=3, seed=12)
    assert [r.rates for r in other.runs] != [r.rates for r in fc.runs]


def test_the_run_starts_from_the_books_state() -> None:
    snap = books()
    cal = calibrate(snap)
    engine = Engine(cal.scenario(1), np.random.default_rng(0), "exact", start=cal.start)
    started = [g for g in snap.groups if g.start_period <= snap.period]
    assert engine.available == snap.pool_available_fen and engine.reserved == snap.pool_reserved_fen
    assert sorted(engine.cgroups.points) == sorted(g.points_cpts for g in started if g.multiple == 5)
    engine.run()
    rate = engine.rates[0]
    # the first close releases exactly what the books' groups release at that rate (exact mode)
    assert engine.f["release"][0] == release_at(started, rate)
    assert engine.f["pool_reserved"][0] == snap.pool_reserved_fen - engine.f["vouchers_spent"][0] \
        + release_at(started, rate)


def test_holders_are_credited_only_what_is_released_after_the_start() -> None:
    """The books' groups arrive part-released; what they released before is in the vouchers held
    (or was spent), so holders end with what they held, plus the release since, less what they
    spent (up to the exact shares' rounding, which stays in the pool)."""
    snap = books()
    cal = calibrate(snap)
    engine = Engine(cal.scenario(3), np.random.default_rng(0), "exact", start=cal.start)
    engine.run()
    nc = engine.pop.nc
    held = int((engine.cbook.balance[:nc] * engine.pop.c_weight[:nc]).sum()) \
        + int(engine.mbook.balance.sum())
    expected = cal.start.consumer_vouchers_fen + cal.start.merchant_vouchers_fen \
        + int(engine.f["release"].sum()) - int(engine.f["vouchers_spent"].sum())
    assert sum(g.fraction for g in snap.groups) > 0 and engine.f["release"].sum() > 0
    assert abs(held - expected) < expected // 100


def test_calibration_recovers_the_purchase_rate_and_growth() -> None:
    lam = 2.7
    observed = lam / order_probability(lam)
    assert abs(purchases_from_observed(observed) - lam) < 1e-6
    cal = calibrate(books(periods=8))
    est = {e.path: e for e in cal.estimates}
    assert 0.0 < est["growth.monthly"].mean < 0.2
    assert 0.0 <= est["consumers.churn"].mean <= 0.1
    assert est["orders.purchases_start"].se > 0 or est["orders.purchases_start"].mean > 0


@given(st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=24))
def test_the_error_of_a_mean_of_values_sharing_levels_is_bounded(values: list[float]) -> None:
    """Between the telescoping floor ``sd / n`` and ``sqrt(3)`` times ``sd / sqrt(n)`` (the
    lag-1 autocovariance is at most the variance)."""
    n = len(values)
    sd = float(np.std(values, ddof=1))
    shared = mean_error(values, shared_levels=True)
    assert sd / n * (1 - 1e-9) <= shared <= np.sqrt(3) * sd / np.sqrt(n) * (1 + 1e-9) + 1e-300
    assert mean_error(values) == np.sqrt(np.var(values, ddof=1) / n)


def test_differences_of_noisy_levels_have_a_mean_known_better_than_sd_over_root_n() -> None:
    """Levels 0, 1, 0, 1, ...: their differences swing by 1 but their mean is (last - first) / n."""
    diffs = list(np.diff([0.0, 1.0] * 3 + [0.0]))
    assert mean_error(diffs, shared_levels=True) == np.sqrt(np.var(diffs, ddof=1) / 6 / 6)
    assert mean_error(diffs, shared_levels=True) < mean_error(diffs) / 2


@given(st.floats(-100.0, 100.0), st.floats(-10.0, 10.0), st.integers(4, 24))
def test_the_end_level_of_a_trend_is_its_last_value(start: float, slope: float, n: int) -> None:
    """A line is read off exactly at its last period (where the window's mean lags it by
    ``(n - 1) / 2`` periods of its slope), with no error."""
    values = [start + slope * i for i in range(n)]
    level, se = end_level(values)
    assert abs(level - values[-1]) <= 1e-9 * (1 + abs(start) + abs(slope) * n)
    assert se <= 1e-6 * (1 + abs(start) + abs(slope) * n)


def test_the_end_level_of_noisy_level_values_is_near_their_mean_within_its_error() -> None:
    """Level values with noise: the line's end stays within a few of its errors of the level."""
    rng = np.random.default_rng(5)
    values = list(3.0 + 0.1 * rng.standard_normal(6))
    level, se = end_level(values)
    assert se > 0
    assert abs(level - 3.0) < 4 * se


def test_the_end_level_moves_the_mean_along_the_slope_by_the_weight_of_its_evidence() -> None:
    """Closed form: level 3, residuals orthogonal to the line (``s^2 = 1``) and a slope of one
    standard error (``t = 1``): the weight is 1/2, the level ``ybar + b d / 2`` and its error
    ``sqrt(s^2 / n + d^2 v / 2)``, ``v = s^2 / Sxx``."""
    dx = np.arange(6.0) - 2.5
    sxx = float(dx @ dx)
    resid = np.array([1.0, -1.0, -1.0, 1.0, 0.0, 0.0])  # sum 0, orthogonal to dx
    b = np.sqrt(1.0 / sxx)
    level, se = end_level(list(3.0 + b * dx + resid))
    assert level == pytest.approx(3.0 + b * 2.5 / 2, rel=1e-12)
    assert se == pytest.approx(np.sqrt(1.0 / 6 + 2.5**2 / sxx / 2), rel=1e-12)
    flat, flat_se = end_level(list(3.0 + resid))
    assert flat == pytest.approx(3.0, rel=1e-12)
    assert flat_se == pytest.approx(np.sqrt(1.0 / 6), rel=1e-12)


def sampling(slope: float, draws: int = 4000) -> tuple[float, float]:
    """Root mean squared error of the end level over windows of 6 values ``3 + slope t`` with
    noise of sd 0.1, and the root mean square of its reported error (fixed seed)."""
    rng = np.random.default_rng(11)
    errors, ses = [], []
    for _ in range(draws):
        level, se = end_level(list(3.0 + slope * np.arange(6) + 0.1 * rng.standard_normal(6)))
        errors.append(level - (3.0 + 5 * slope))
        ses.append(se)
    return float(np.sqrt(np.mean(np.square(errors)))), float(np.sqrt(np.mean(np.square(ses))))


def test_the_end_level_of_level_values_errs_less_than_the_line_and_says_about_how_much() -> None:
    """On level values the line's end errs by ``sd sqrt(1/n + d^2 / Sxx)`` (0.072 here); the
    weighted level errs less, and its reported error is within a fifth of its actual error."""
    line = 0.1 * np.sqrt(1 / 6 + 2.5**2 / 17.5)
    rmse, se = sampling(0.0)
    assert rmse < 0.9 * line
    assert 0.8 * rmse < se < 1.05 * rmse


def test_the_end_level_of_a_clear_trend_is_the_line_and_its_error() -> None:
    """Slope 0.3 a period against a slope error of 0.024 (t about 12): no lag, and the reported
    error is the actual one within 5%."""
    rmse, se = sampling(0.3)
    assert 0.95 * rmse < se < 1.05 * rmse
    assert rmse < 1.1 * 0.1 * np.sqrt(1 / 6 + 2.5**2 / 17.5)


def test_the_forecast_starts_with_the_merchants_the_books_have_signed() -> None:
    """The simulator signs ``floor(consumers x region share / consumers per merchant)`` per
    region, so the books' merchants over-count consumers per merchant by the floors (half a
    merchant per region on average); at no growth the forecast's first period signs, on
    average over merchant counts, the books' merchants, and never a region's worth fewer."""
    snap = books()
    gaps = []
    for total in range(20, 71):
        cal = calibrate(replace(snap, merchants=replace(snap.merchants, total=total)))
        values = {e.path: e.mean for e in cal.estimates} | {"growth.monthly": 0.0,
                                                            "consumers.churn": 0.0}
        scenario = cal.scenario(2, values)
        gaps.append(int(build_schedule(scenario, "fast").merchants[0].sum()) - total)
    assert abs(float(np.mean(gaps))) <= 0.5
    assert min(gaps) > -snap.regions


def test_completion_period_reads_the_rates() -> None:
    quarter = SCALE // 4
    assert completion_period(0, 0, (quarter,) * 4) == 3  # four quarters: completes in index 3
    assert completion_period(SCALE // 2, 0, (quarter,) * 4) == 1
    assert completion_period(0, 2, (quarter,) * 4) == 5  # starts at 2, two in reach, two after
    assert completion_period(0, 0, (0, 0)) == float("inf")


def test_summary_bands_are_ordered_and_the_new_holding_band_is_given() -> None:
    fc = run_forecast(books(), periods=6, runs=8, seed=3)
    doc = summary(fc)
    for key in ("release_rate", "pool_coverage", "gmv"):
        b = doc["figures"][key]
        for lo, mid, hi in zip(b["p10"], b["p50"], b["p90"], strict=True):
            assert lo is None or lo <= mid <= hi
    nh = doc["new_holding_periods"]
    assert nh["p50"] is None or nh["p50"] >= 40  # never faster than 1/N
    bands = holdings_bands(fc)
    assert str(fc.start + 1) in bands
    oldest = bands[str(min(g.start_period for g in fc.calibration.snapshot.groups))]
    newest = bands[str(fc.start + 1)]
    assert oldest[1] is None or newest[1] is None or oldest[1] <= newest[1]


def test_runs_spread_over_processes_give_the_same_forecast() -> None:
    snap = books()
    here = run_forecast(snap, periods=4, runs=3, seed=5)
    spread = run_forecast(snap, periods=4, runs=3, seed=5, workers=2)
    assert [r.rates for r in spread.runs] == [r.rates for r in here.runs]
    for a, b in zip(here.runs, spread.runs, strict=True):
        assert a.values == b.values
        for key in a.figures:
            np.testing.assert_array_equal(a.figures[key], b.figures[key], err_msg=key)


@pytest.mark.parametrize("values", [[], [1.0], [1.0, 2.0]])
def test_the_end_level_needs_three_values(values: list[float]) -> None:
    with pytest.raises(ValueError, match="at least three values"):
        end_level(values)


def test_the_forecast_holds_the_books_regions_as_they_are() -> None:
    """Which regions a partner holds decides who is paid the partner's part and the promoters'
    and what the pool gets instead: the forecast keeps each region's universe and holder from
    the books (drawn by count, a town whose largest region nobody held was forecast with it held
    in two runs of three), and the promoters' share over the merchants of held regions."""
    regions = ((50, False), (30, True), (20, True))
    snap = replace(books(), region_universes=regions, regions=3, universe_total=100,
                   merchants=replace(books().merchants, in_held_regions=8))
    cal = calibrate(snap)
    promoter = cal.scenario(3).merchants.promoter_share
    assert promoter == 1.0  # 10 promoted of 8 in held regions: a share, capped at 1
    for seed in range(5):
        engine = Engine(cal.scenario(3), np.random.default_rng(seed), "fast", start=cal.start)
        assert list(engine.schedule.universe) == [50, 30, 20]
        assert list(engine.pop.r_partner) == [False, True, True]
    fewer = calibrate(replace(snap, merchants=replace(snap.merchants, in_held_regions=20)))
    assert fewer.scenario(3).merchants.promoter_share == 10 / 20


def test_books_without_their_regions_draw_which_are_held_by_count() -> None:
    cal = calibrate(books())  # region_universes not given: count, total and held share
    held = {tuple(Engine(cal.scenario(3), np.random.default_rng(seed), "fast",
                         start=cal.start).pop.r_partner) for seed in range(20)}
    assert len(held) > 1


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_consumers_start_with_the_books_vouchers_in_proportion_to_their_intensity(mode: str) -> None:
    """Nothing spent (share 0): after period 0 each consumer holds its share of the books'
    vouchers and of the release, both by intensity; the total is the books' plus the release."""
    cal = calibrate(books())
    values = {e.path: e.mean for e in cal.estimates} | {SPEND_PATH: 0.0}
    engine = Engine(cal.scenario(1, values), np.random.default_rng(5), mode, start=cal.start)  # type: ignore[arg-type]
    engine.run()
    pop = engine.pop
    n0 = int(engine.schedule.new_agents[0])
    w0 = float(engine.schedule.agent_weight[0])
    balance, intensity = engine.cbook.balance[:n0].astype(float), pop.c_intensity[:n0]
    assert intensity.std() > 0.1  # the intensities differ, so an even spread would fail below
    assert engine.f["vouchers_spent"][0] == 0
    expected = intensity / intensity.sum() * balance.sum()
    if mode == "fast":
        np.testing.assert_allclose(balance, expected, rtol=1e-9)
    else:
        floors = 2 + len(cal.start.started())  # a share of the vouchers, one of each group
        assert np.abs(balance - expected).max() <= floors + 1e-6 * balance.max()
    held = balance.sum() * w0
    assert held <= cal.start.consumer_vouchers_fen + engine.f["release"][0]
    assert held >= cal.start.consumer_vouchers_fen - n0 * w0


def test_the_fitted_spend_share_spends_what_the_books_spent_per_voucher_held() -> None:
    cal = calibrate(books())
    base = next(e for e in cal.estimates if e.path == SPEND_PATH)
    for target in (0.05, 0.2):
        at = replace(cal, estimates=tuple(replace(e, mean=target) if e is base else e
                                          for e in cal.estimates))
        fitted = fitted_spend_share(at)
        share = next(e for e in fitted.estimates if e.path == SPEND_PATH)
        assert abs(pilot_spent(fitted, share.mean) - target) < 1e-3
        assert share.mean > target  # only orders and their limits take vouchers: e < share
        assert share.se == pytest.approx(base.se * share.mean / target)
    unreachable = replace(cal, estimates=tuple(replace(e, mean=0.999) if e is base else e
                                               for e in cal.estimates))
    assert pilot_spent(unreachable, 1.0) < 0.999
    top = next(e for e in fitted_spend_share(unreachable).estimates if e.path == SPEND_PATH)
    assert top.mean == pytest.approx(1.0, abs=1e-4)
    empty = replace(cal, start=replace(cal.start, consumer_vouchers_fen=0))
    assert fitted_spend_share(empty) is empty


def test_calibration_fits_the_share_under_the_books_own_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """``calibrate`` returns the fitted share (its pilot spends the books' ratio), and under a
    proposed policy keeps the share fitted under the books' rules, so the new limits show."""
    import gongsheng.sim.calibrate as calibration

    snap = books()
    fitted = calibrate(snap)
    share = next(e for e in fitted.estimates if e.path == SPEND_PATH).mean
    with monkeypatch.context() as m:
        m.setattr(calibration, "fitted_spend_share", lambda c: c)
        raw = next(e for e in calibrate(snap).estimates if e.path == SPEND_PATH).mean
    assert share > raw
    assert abs(pilot_spent(fitted, share) - raw) < 1e-3
    policy = dict(snap.policy)
    policy["vouchers"] = {**policy["vouchers"], "max_share_at_mall": "1.00"}
    proposed = calibrate(snap, policy)
    assert next(e for e in proposed.estimates if e.path == SPEND_PATH).mean == share
    assert pilot_spent(proposed, share) > pilot_spent(fitted, share)  # the new limit spends more


def test_without_spending_data_the_default_share_stands() -> None:
    snap = books()
    empty = replace(snap, history=tuple(replace(r, vouchers_outstanding_fen=0) for r in snap.history))
    est = next(e for e in calibrate(empty).estimates if e.path == SPEND_PATH)
    assert est.mean == 0.5 and est.se == 0.0
