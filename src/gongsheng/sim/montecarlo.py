"""Monte Carlo runs and parameter sweeps, locally or on a Dask cluster.

- Run ``i`` of an ensemble draws from ``numpy.random.Generator(PCG64(SeedSequence(seed).spawn(n)[i]))``:
  every run is reproducible from ``(seed, i)`` alone, wherever it executes, so a Dask run equals
  the local run of the same seeds, figure for figure.
- A sweep is a grid (cartesian product) over dotted parameter paths (``growth.monthly``,
  ``policy.release.controller``); every point of the grid reuses the same seeds (common random
  numbers), so differences between points come from the parameters, not from the draws.
- ``scheduler=None`` runs in this process, one run after the other; ``scheduler="tcp://host:8786"``
  (any ``dask.distributed`` address) submits every run of every point to that cluster.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.sim.engine import simulate
from gongsheng.sim.figures import RunResult
from gongsheng.sim.scenario import Mode, Scenario, ScenarioError

Arr = npt.NDArray[Any]
QUANTILES = (5.0, 50.0, 95.0)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Ensemble:
    """The runs of one scenario (one sweep point): ``values`` are the point's parameter values."""

    scenario: Scenario
    mode: Mode
    runs: tuple[RunResult, ...]
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or self.scenario.name

    def figure(self, key: str) -> Arr:
        """One figure of every run: an array ``[runs, periods]``."""
        return np.stack([r.figures[key] for r in self.runs])

    def bands(self, key: str) -> Arr:
        """The p5 / p50 / p95 band of a figure across runs: ``[3, periods]`` (NaN-aware)."""
        return quantiles(self.figure(key))


def quantiles(values: Arr) -> Arr:
    """p5 / p50 / p95 over the first axis of ``[runs, n]``, ignoring NaN; ``inf`` stays ``inf``."""
    v = np.asarray(values, float)
    out = np.full((len(QUANTILES), v.shape[1]), np.nan)
    ok = ~np.all(np.isnan(v), axis=0)
    if ok.any():
        out[:, ok] = np.nanpercentile(v[:, ok], QUANTILES, axis=0, method="nearest")
    return out


_TUNED: list[bool] = []


def tune_allocator() -> None:
    """Let glibc reuse large freed blocks instead of mapping fresh pages for every array.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also freezes glibc's
    mmap threshold at 128 KiB: every array the period loop allocates is then a new mapping,
    zero-filled page by page, and a run is about four times slower. Setting both thresholds
    explicitly (``mallopt``) restores heap reuse. Once per process; a no-op off glibc.
    """
    if _TUNED or not sys.platform.startswith("linux"):
        return
    _TUNED.append(True)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)   # M_MMAP_THRESHOLD: the largest glibc allows (64-bit)
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        return


def run_seeded(scenario: Scenario, seed: np.random.SeedSequence, mode: Mode, index: int) -> RunResult:
    """One run from its seed sequence (what a worker executes)."""
    tune_allocator()
    return simulate(scenario, np.random.Generator(np.random.PCG64(seed)), mode, seed=index)


def spawn(seed: int, runs: int) -> list[np.random.SeedSequence]:
    """The seed sequences of ``runs`` independent runs of a master seed."""
    return np.random.SeedSequence(seed).spawn(runs)


def parse_sweep(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["growth.monthly=0.05,0.1", ...]`` -> ``{"growth.monthly": ["0.05", "0.1"]}``."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        path, sep, values = spec.partition("=")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not path.strip() or not items:
            raise ScenarioError(f"a sweep is PARAM=V1,V2,...; got {spec!r}")
        grid[path.strip()] = items
    return grid


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one empty point for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def run_sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    runs: int,
    seed: int,
    mode: Mode | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[Ensemble]:
    """Run every point of ``grid`` ``runs`` times with the same seeds; one ensemble per point."""
    chosen: Mode = mode or scenario.mode
    points = grid_points(grid)
    variants = [scenario.with_values(p) if p else scenario for p in points]
    seeds = spawn(seed, runs)
    tasks = [(v, s, i) for v in variants for i, s in enumerate(seeds)]
    results = execute(tasks, chosen, scheduler, progress)
    return [
        Ensemble(v, chosen, tuple(results[j * runs:(j + 1) * runs]), p)
        for j, (v, p) in enumerate(zip(variants, points, strict=True))
    ]


def run_ensemble(scenario: Scenario, runs: int, seed: int, mode: Mode | None = None,
                 scheduler: str | None = None, progress: Progress | None = None) -> Ensemble:
    """``runs`` runs of one scenario (a sweep of one point)."""
    return run_sweep(scenario, {}, runs, seed, mode, scheduler, progress)[0]


def execute(tasks: Sequence[tuple[Scenario, np.random.SeedSequence, int]], mode: Mode,
            scheduler: str | None, progress: Progress | None = None) -> list[RunResult]:
    """Run the tasks here or on a Dask cluster; results in task order; ``progress(1)`` per run."""
    if scheduler is None:
        out = []
        for scenario, seed, index in tasks:
            out.append(run_seeded(scenario, seed, mode, index))
            if progress is not None:
                progress(1)
        return out
    return _execute_dask(tasks, mode, scheduler, progress)


def _execute_dask(tasks: Sequence[tuple[Scenario, np.random.SeedSequence, int]], mode: Mode,
                  scheduler: str, progress: Progress | None) -> list[RunResult]:
    from distributed import Client, as_completed

    with Client(scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        futures = [client.submit(run_seeded, sc, seed, mode, index, pure=False)
                   for sc, seed, index in tasks]
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[RunResult | None] = [None] * len(futures)
        for future in as_completed(futures, loop=client.loop):  # type: ignore[no-untyped-call]
            out[position[future.key]] = future.result()
            if progress is not None:
                progress(1)
    return [r for r in out if r is not None]
