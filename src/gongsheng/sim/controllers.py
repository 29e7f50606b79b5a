"""Which rate controller serves holders best: ``budget``, ``smoothed`` and ``forecast`` side by side.

:func:`compare` runs each built-in scenario under each controller with common seeds (the same
draws for every controller: differences come from the controller alone) and measures, per
controller and scenario, over all runs:

- ``mean_periods`` and ``p90_periods``: release periods a holding takes to complete, pooled over
  the holdings earned in the first half of the run (actual, or projected at the last rate);
  ``never``: the share of those that would never complete (rate fallen to zero);
- ``max_drop``: the largest period-on-period fall of the release rate, in percentage points of
  a cap per period (what a holder experiences as a sudden slowdown);
- ``rate_sd``: the standard deviation of the release rate over the periods (percentage points),
  mean over runs;
- ``pool_at_zero``: periods per run in which the close left the pool's available part below 1%
  of that period's release (the pool paid all it had).

Scenarios are run with ``consumers.scale`` multiplied by ``scale_factor`` (fewer simulated
consumers, the same real population) so that the comparison takes minutes, not hours.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gongsheng.sim.montecarlo import run_ensemble
from gongsheng.sim.scenario import BUILTINS, load_scenario

CONTROLLERS = ("budget", "smoothed", "forecast")
COLUMNS = ("scenario", "controller", "mean_periods", "p90_periods", "never", "max_drop", "rate_sd",
           "pool_at_zero")


def metrics(runs: Sequence[Any]) -> dict[str, float]:
    """The comparison's figures over an ensemble's runs (see the module docstring)."""
    done, drops, sds, zeros = [], [], [], []
    for r in runs:
        half = max(1, r.periods // 2)
        done.extend(r.completion[:half].tolist())
        rate = np.nan_to_num(r.figures["release_rate"]) * 100
        drops.append(float(np.max(rate[:-1] - rate[1:], initial=0.0)))
        sds.append(float(np.std(rate)))
        release = np.nan_to_num(r.figures["release"])
        avail = np.nan_to_num(r.figures["pool_available"])
        zeros.append(int(np.sum((release > 0) & (avail < 0.01 * release))))
    c = np.asarray(done, float)
    finite = c[np.isfinite(c)]
    return {"mean_periods": float(finite.mean()) if len(finite) else float("inf"),
            "p90_periods": float(np.percentile(c, 90)) if len(c) else float("nan"),
            "never": float(np.mean(~np.isfinite(c))) if len(c) else 0.0,
            "max_drop": float(np.mean(drops)), "rate_sd": float(np.mean(sds)),
            "pool_at_zero": float(np.mean(zeros))}


def compare(scenarios: Sequence[str] = BUILTINS, runs: int = 10, seed: int = 2021,
            scale_factor: int = 10, progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """One row per (scenario, controller) with :func:`metrics`."""
    rows = []
    for name in scenarios:
        base = load_scenario(name)
        base = base.with_values({"consumers.scale": base.consumers.scale * scale_factor})
        for controller in CONTROLLERS:
            s = base.with_values({"policy.release.controller": controller})
            ensemble = run_ensemble(s, runs, seed, "fast", progress=progress)
            rows.append({"scenario": name, "controller": controller, **metrics(ensemble.runs)})
    return rows


def write(rows: Sequence[dict[str, Any]], out: Path) -> Path:
    """``controllers.csv`` and a Markdown table ``controllers.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "controllers.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r[c] if isinstance(r[c], str) else f"{r[c]:.4g}" for c in COLUMNS])
    lines = ["| scenario | controller | mean periods | p90 periods | never | largest drop (pp) | "
             "rate sd (pp) | periods pool at zero |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['controller']} | {r['mean_periods']:.1f} | "
                     f"{r['p90_periods']:.1f} | {100 * r['never']:.0f}% | {r['max_drop']:.3f} | "
                     f"{r['rate_sd']:.3f} | {r['pool_at_zero']:.1f} |")
    path = out / "controllers.md"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


__all__ = ["CONTROLLERS", "compare", "metrics", "write"]
