"""A Monte Carlo ensemble on a Dask LocalCluster of two workers equals the local run, seed for seed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from gongsheng.sim.figures import FIGURES
from gongsheng.sim.montecarlo import run_ensemble, run_sweep
from gongsheng.sim.scenario import Scenario, load_scenario

distributed = pytest.importorskip("distributed")

SMALL = {
    "simulation.periods": 12, "consumers.initial": 400, "consumers.scale": 1,
    "regions.count": 6, "regions.universe_total": 300, "growth.consumers_per_merchant": 20,
}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def small() -> Scenario:
    return load_scenario("seed-claims").with_values(SMALL)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_dask_equals_local(scheduler: str, mode: str) -> None:
    local = run_ensemble(small(), 4, 123, mode)  # type: ignore[arg-type]
    seen: list[int] = []
    remote = run_ensemble(small(), 4, 123, mode, scheduler, progress=seen.append)  # type: ignore[arg-type]
    assert sum(seen) == 4
    for a, b in zip(local.runs, remote.runs, strict=True):
        assert a.seed == b.seed
        for key in FIGURES:
            np.testing.assert_array_equal(a.figures[key], b.figures[key], err_msg=key)
        np.testing.assert_array_equal(a.completion, b.completion)
        np.testing.assert_array_equal(a.bm_income, b.bm_income)


def test_dask_sweep_keeps_point_order(scheduler: str) -> None:
    grid = {"growth.monthly": ["0.05", "0.2"]}
    local = run_sweep(small(), grid, 2, 5, "fast")
    remote = run_sweep(small(), grid, 2, 5, "fast", scheduler)
    for a, b in zip(local, remote, strict=True):
        assert a.values == b.values
        np.testing.assert_array_equal(a.figure("gmv"), b.figure("gmv"))
