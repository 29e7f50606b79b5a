"""The report's charts (matplotlib, Agg backend: no display needed), each saved as a PNG.

Every chart shows Monte Carlo bands as a shaded p5-p95 area around the p50 line. Functions
take the data and a path, write the PNG and return the path; none keeps global state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]


def _band(ax: Any, bands: Arr, label: str, scale: float = 1.0, color: str | None = None) -> None:
    x = np.arange(bands.shape[1])
    line = ax.plot(x, bands[1] / scale, label=f"{label} (p50)", color=color)[0]
    ax.fill_between(x, bands[0] / scale, bands[2] / scale, alpha=0.25, color=line.get_color(),
                    label=f"{label} (p5-p95)")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def overview(bands: dict[str, Arr], title: str, path: Path) -> Path:
    """Four panels: GMV; release rate vs nominal; pool vs vouchers outstanding; funded by new."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0, 0]
    _band(ax, bands["gmv"], "GMV", 100e6)
    _band(ax, bands["release"], "vouchers released", 100e6)
    ax.set_title("GMV and release per period (million yuan)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    _band(ax, bands["release_rate"], "release rate", 0.01)
    ax.plot(bands["nominal_rate"][1] * 100, "k--", label="nominal 1/N")
    ax.set_title("Release rate (% of cap per period)")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    _band(ax, bands["vouchers_outstanding"], "vouchers outstanding", 100e6)
    _band(ax, bands["pool_available"], "pool available", 100e6)
    _band(ax, bands["unreleased"], "unreleased entitlement", 100e6)
    ax.set_title("Pool and promises (million yuan)")
    ax.set_yscale("symlog")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    _band(ax, bands["funded_by_new"], "funded by new concessions")
    _band(ax, bands["periods_at_rate"], "periods at this rate", 100)
    ax.set_title("Share of release funded by the period's concessions; periods/100")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    for a in axes.flat:
        a.set_xlabel("period (month)")
        a.grid(alpha=0.3)
    fig.suptitle(title)
    return _save(fig, path)


def completion(bands: Arr, nominal: int, path: Path) -> Path:
    """Periods a holding earned in period k takes to complete, against the nominal promise."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    shown = np.where(np.isfinite(bands), bands, np.nan)
    _band(ax, shown, "periods to complete")
    ax.axhline(nominal, color="k", ls="--", label=f"promise: {nominal} periods")
    ax.set_xlabel("period the points were earned")
    ax.set_ylabel("release periods to complete")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def growth_search(tried: list[tuple[float, float]], needed: float | None, path: Path) -> Path:
    """Share of runs keeping the promise at each growth tried."""
    fig, ax = plt.subplots(figsize=(7, 4))
    xs, ys = zip(*sorted(tried), strict=True) if tried else ((), ())
    ax.plot(np.array(xs) * 100, ys, "o-")
    if needed is not None:
        ax.axvline(needed * 100, color="r", ls="--", label=f"needed ~ {needed:.1%} a month")
        ax.legend()
    ax.set_xlabel("constant monthly growth (%)")
    ax.set_ylabel("share of runs keeping the promise")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def earnings(partner: Arr, bm: Arr, claims: tuple[float, float], path: Path) -> Path:
    """Histograms of partners' and BMs' yearly earnings with the seed's claims marked."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, values, claim, name in ((axes[0], partner, claims[0], "partner (dividend + team)"),
                                    (axes[1], bm, claims[1], "business manager")):
        positive = values[values > 0]
        if len(positive):
            bins = np.logspace(np.log10(positive.min()), np.log10(max(positive.max(), claim)), 40)
            ax.hist(positive, bins=bins)
        ax.set_xscale("log")
        ax.axvline(claim, color="r", ls="--", label=f"seed's claim {claim / 1e6:.2f}M yuan")
        ax.set_title(f"{name}: yuan per year")
        ax.legend(fontsize=8)
    return _save(fig, path)


def sweep(labels: list[str], values: dict[str, list[float]], path: Path) -> Path:
    """One bar group per sweep point for a few headline figures (normalised to the first point)."""
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels)), 4))
    keys = list(values)
    width = 0.8 / max(len(keys), 1)
    x = np.arange(len(labels))
    for i, key in enumerate(keys):
        v = np.array(values[key], float)
        base = v[0] if v[0] else 1.0
        ax.bar(x + i * width, v / base, width, label=key)
    ax.set_xticks(x + 0.4 - width / 2, labels, rotation=20, fontsize=7)
    ax.set_ylabel("relative to the first point")
    ax.legend(fontsize=7)
    return _save(fig, path)


def abuse(rates: list[float], gains: dict[str, dict[int, list[float]]], path: Path) -> Path:
    """A wash-trading ring's mean net gain (yuan) against the detection rate, one line per hold,
    one panel per release controller; the zero line is where the scheme stops paying."""
    fig, axes = plt.subplots(1, len(gains), figsize=(5.5 * len(gains), 4), squeeze=False)
    x = np.array(rates) * 100
    for ax, (controller, by_hold) in zip(axes[0], gains.items(), strict=True):
        for hold, values in by_hold.items():
            ax.plot(x, np.array(values) / 100, "o-", ms=3, label=f"hold {hold} month(s)")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(f"controller `{controller}`")
        ax.set_xlabel("detection rate (% of active rings caught per month)")
        ax.set_ylabel("net gain per ring to the horizon (yuan)")
        ax.set_yscale("symlog", linthresh=1000)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Does wash trading pay? cashed releases minus concessions paid")
    return _save(fig, path)
