"""Wash-trading rings in the simulator: they change nothing when absent, keep the pool's books,
and pay less the likelier they are caught."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gongsheng.sim.abuse import abuse_study
from gongsheng.sim.engine import Engine, simulate
from gongsheng.sim.figures import FIGURES
from gongsheng.sim.montecarlo import run_ensemble
from gongsheng.sim.report import headline, paragraph, write_report
from gongsheng.sim.rings import detection_delay
from gongsheng.sim.scenario import Scenario, ScenarioError
from gongsheng.sim.study import run_study

from .sim_scenarios import tiny

RINGS: dict[str, Any] = {"abuse.merchant_share": 0.5, "abuse.fake_consumers_per_merchant": 5,
                         "abuse.spend_per_period_yuan": 300, "abuse.hold_periods": 2,
                         "abuse.detection_rate": 0.1}


def rings(**values: Any) -> Scenario:
    return tiny(**{**RINGS, **values})


def test_zero_share_is_the_plain_run_figure_for_figure() -> None:
    plain = simulate(tiny(), np.random.default_rng(3), "exact")
    empty = simulate(rings(**{"abuse.merchant_share": 0.0}), np.random.default_rng(3), "exact")
    for key in FIGURES:
        np.testing.assert_array_equal(plain.figures[key], empty.figures[key], err_msg=key)
    np.testing.assert_array_equal(plain.completion, empty.completion)


def test_rings_leave_the_honest_orders_alone_and_dilute_the_release() -> None:
    plain = simulate(tiny(), np.random.default_rng(3), "exact").figures
    abused = simulate(rings(), np.random.default_rng(3), "exact").figures
    assert np.nansum(abused["abuse_gmv"]) > 0 and abused["abuse_rings_signed"][-1] > 0
    np.testing.assert_array_equal(abused["gmv"] - abused["abuse_gmv"], plain["gmv"])
    assert np.nansum(abused["abuse_released"]) > 0
    assert np.all(abused["abuse_released"] <= abused["release"])


def test_pool_in_equals_pool_out_plus_balance_with_rings() -> None:
    """Exact mode: available + reserved moves by inflow less voucher cost (rings' cash and
    forfeits included); reserved is honest balances + rings' held releases + the remainder."""
    s = rings(**{"abuse.detection_rate": 0.15})
    e = Engine(s, np.random.default_rng(8), "exact")
    inflow = cost = 0
    for t in range(s.periods):
        e.period(t)
        f = e.f
        inflow += int(f["pool_inflow"][t])
        cost += int(f["voucher_cost"][t])
        assert isinstance(e.available, int) and isinstance(e.reserved, int)
        assert e.available >= 0
        assert e.available + e.reserved == inflow - cost
        nc = e.pop.nc
        honest = int((e.cbook.balance[:nc] * e.pop.c_weight[:nc]).sum()) + int(e.mbook.balance.sum())
        remainder = e.reserved - honest - int(e.rings.held())
        assert remainder == e.posted - e.settled
        assert remainder >= 0
    assert np.nansum(e.f["abuse_forfeited_held"]) > 0
    assert np.nansum(e.f["abuse_cashed"]) > 0


def test_runs_are_deterministic() -> None:
    a = simulate(rings(), np.random.default_rng(21), "fast").figures
    b = simulate(rings(), np.random.default_rng(21), "fast").figures
    for key in FIGURES:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_detection_never_comes_later_at_a_higher_rate() -> None:
    u = np.random.default_rng(0).random(1000)
    delays = [detection_delay(u, d) for d in (0.01, 0.05, 0.2, 0.6, 1.0)]
    for slow, fast in itertools.pairwise(delays):
        assert np.all(fast <= slow)
    assert np.all(delays[-1] == 0)
    assert np.all(detection_delay(u, 0.0) > 10**9)
    assert abs(delays[1].mean() - (1 - 0.05) / 0.05) < 3  # geometric mean delay


def _gain(s: Scenario) -> float:
    ens = run_ensemble(s, 3, 2021, "fast")
    paid = ens.figure("abuse_concession").sum()
    return float(ens.figure("abuse_cashed").sum() - paid) / float(
        ens.figure("abuse_rings_signed")[:, -1].sum())


def test_gain_falls_with_detection_and_with_holds() -> None:
    s = rings(**{"simulation.periods": 30, "policy.release.controller": "promise"})
    gains = [_gain(s.with_values({"abuse.detection_rate": d})) for d in (0.0, 0.05, 0.1, 0.2)]
    assert gains[0] > 0
    assert all(b < a for a, b in itertools.pairwise(gains)), gains
    held = [_gain(s.with_values({"abuse.detection_rate": 0.1, "abuse.hold_periods": h}))
            for h in (0, 2, 6)]
    assert all(b < a for a, b in itertools.pairwise(held)), held


def test_study_finds_where_the_scheme_stops_paying() -> None:
    s = rings(**{"simulation.periods": 30, "abuse.study_controllers": ["budget", "promise"]})
    st = abuse_study(s, 5, runs=2, holds=[0, 3], rates=[0.0, 0.1, 0.5])
    assert len(st.points) == 2 * 2 * 3
    promise = st.point("promise", 0, 0.0)
    assert promise is not None and promise.gain_per_ring > 0 and promise.release_share > 0
    assert promise.deficit_extra > 0
    rate, crossing = st.break_even[("promise", 0)]
    assert rate is not None and crossing is not None and 0.0 < crossing <= rate
    for p in st.points:
        assert 0 <= p.cashed_share <= p.release_share + 1e-12
    assert st.scenario_point.hold == 2 and st.scenario_point.detection == 0.1


@pytest.mark.parametrize(("key", "value", "words"), [
    ("abuse.merchant_share", 1.5, "abuse.merchant_share"),
    ("abuse.detection_rate", -0.1, "abuse.detection_rate"),
    ("abuse.fake_consumers_per_merchant", 0, "fake_consumers_per_merchant"),
    ("abuse.study_controllers", ["budget", "lavish"], "not a controller"),
])
def test_bad_abuse_settings_are_refused_clearly(key: str, value: Any, words: str) -> None:
    with pytest.raises(ScenarioError, match=words):
        tiny(**{key: value})


def test_report_shows_the_abuse_answer(tmp_path: Path) -> None:
    s = rings(**{"simulation.periods": 20, "abuse.study_holds": [0, 2],
                 "abuse.study_detection_rates": [0.0, 0.3], "abuse.study_runs": 1,
                 "abuse.study_controllers": ["budget", "promise"]})
    st = run_study(s, 1, 3, "fast", answers=False)
    assert st.abuse is not None and len(st.abuse.points) == 8
    files = write_report(st, tmp_path)
    assert {"abuse.csv", "abuse.png"} <= set(files)
    with (tmp_path / "abuse.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and {r["controller"] for r in rows} == {"budget", "promise"}
    page = (tmp_path / "report.html").read_text("utf-8")
    assert "Wash trading: does it pay?" in page
    h = headline(st)
    assert "stops paying its rings" in paragraph(h)
    plain = run_study(tiny(), 1, 3, "fast", answers=False)
    assert plain.abuse is None and "abuse" not in headline(plain)
