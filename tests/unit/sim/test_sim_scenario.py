"""Scenario files: built-ins load, sweeps set dotted paths, bad values fail with one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongsheng.sim.montecarlo import grid_points, parse_sweep
from gongsheng.sim.scenario import BUILTINS, ScenarioError, load_scenario


@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_load(name: str) -> None:
    s = load_scenario(name)
    assert s.name == name
    assert s.periods >= 36
    assert abs(sum(c.share for c in s.merchants.categories) - 1) < 1e-12


def test_with_values_coerces_to_the_existing_type() -> None:
    s = load_scenario("seed-claims").with_values(
        {"growth.monthly": "0.05", "scenario.simulation.periods": "12",
         "policy.release.controller": "promise"})
    assert s.growth.monthly == 0.05
    assert s.periods == 12
    assert s.policy.release.controller.value == "promise"


@pytest.mark.parametrize("values", [
    {"growth.nonsense": 1},
    {"consumers.churn": "1.5"},
    {"policy.release.controller": "hope"},
    {"orders.mall_rate": "0.5"},
    {"simulation.mode": "quick"},
    {"regions.universes": [5, 3], "regions.held": [True]},
    {"regions.universes": [5, 0], "regions.held": [True, False], "regions.count": 2,
     "regions.universe_total": 5},
    {"regions.universes": [5, 3], "regions.held": [True, 1], "regions.count": 2,
     "regions.universe_total": 8},
    {"regions.universes": [5, 3], "regions.held": [True, False]},  # count and total disagree
])
def test_bad_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ScenarioError if "policy" not in str(values) else Exception):
        load_scenario("seed-claims").with_values(values)


def test_unknown_scenario_and_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no scenario"):
        load_scenario("nope")
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[consumers]\ninitial = 10\n[policy]\nfile = "missing.toml"\n')
    with pytest.raises(ScenarioError, match="policy file not found"):
        load_scenario(str(path))


def test_sweep_grid() -> None:
    grid = parse_sweep(["growth.monthly=0.05,0.1", "policy.release.controller=budget,promise"])
    assert grid_points(grid) == [
        {"growth.monthly": "0.05", "policy.release.controller": "budget"},
        {"growth.monthly": "0.05", "policy.release.controller": "promise"},
        {"growth.monthly": "0.1", "policy.release.controller": "budget"},
        {"growth.monthly": "0.1", "policy.release.controller": "promise"},
    ]
    with pytest.raises(ScenarioError):
        parse_sweep(["growth.monthly"])


def test_regions_given_as_they_are_fix_universes_and_holders() -> None:
    s = load_scenario("seed-claims").with_values({
        "regions.universes": [40, 25, 5], "regions.held": [False, True, True],
        "regions.count": 3, "regions.universe_total": 70})
    assert s.regions.universes == (40, 25, 5) and s.regions.held == (False, True, True)
