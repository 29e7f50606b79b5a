"""Small scenarios for the simulator's tests (a few thousand consumers, a dozen periods)."""

from __future__ import annotations

from typing import Any

from gongsheng.sim.scenario import Scenario, load_scenario

TINY: dict[str, Any] = {
    "simulation.periods": 14,
    "simulation.runs": 2,
    "consumers.initial": 400,
    "consumers.scale": 1,
    "growth.monthly": 0.15,
    "regions.count": 8,
    "regions.universe_total": 400,
    "growth.consumers_per_merchant": 20,
}


def tiny(**values: Any) -> Scenario:
    """The seed-claims scenario shrunk to a few hundred consumers (exact mode runs in well under 1 s)."""
    return load_scenario("seed-claims").with_values({**TINY, **values})
