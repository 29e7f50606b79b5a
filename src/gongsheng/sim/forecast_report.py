"""The forecast's files: ``forecast.json``, ``bands.csv``, ``holdings.csv``, ``forecast.png``,
``report.html``.

``forecast.json`` is the summary document (:func:`gongsheng.sim.forecast.summary`), the same the
books store; ``bands.csv`` has per period and figure the p10 / p50 / p90 (money in yuan);
``holdings.csv`` per release group the band of the period in which it completes; the HTML page
embeds the chart and every table, readable offline.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from gongsheng.sim.figures import FIGURES

YUAN = 100.0


def _scale(key: str) -> float:
    return YUAN if FIGURES.get(key, ("", ""))[1] == "fen" else 1.0


def _chart(doc: Mapping[str, Any], path: Path) -> Path:
    f, x = doc["figures"], doc["periods"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, key, title in ((axes[0], "release_rate", "release rate (of cap) vs 1/N"),
                           (axes[1], "pool_coverage", "pool coverage of vouchers outstanding"),
                           (axes[2], "gmv", "GMV (yuan)")):
        band = f[key]
        s = _scale(key)
        mid = [None if v is None else v / s for v in band["p50"]]
        lo = [float("nan") if v is None else v / s for v in band["p10"]]
        hi = [float("nan") if v is None else v / s for v in band["p90"]]
        ax.plot(x, mid, label="p50")
        ax.fill_between(x, lo, hi, alpha=0.25, label="p10-p90")
        if key == "release_rate":
            ax.axhline(doc["nominal_rate"], color="grey", linestyle="--", label="1/N")
        ax.set_title(title)
        ax.set_xlabel("period")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_forecast(doc: Mapping[str, Any], holdings: Mapping[str, Any], out: Path,
                   command: str = "") -> dict[str, Path]:
    """Write every file of a forecast into ``out``; return them by name."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["forecast.json"] = out / "forecast.json"
    files["forecast.json"].write_text(json.dumps({**doc, "holdings": holdings}, indent=2), "utf-8")
    files["bands.csv"] = out / "bands.csv"
    with files["bands.csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["period", "figure", "unit", "p10", "p50", "p90"])
        for key, band in doc["figures"].items():
            s = _scale(key)
            unit = "yuan" if s == YUAN else FIGURES.get(key, ("", ""))[1]
            for i, period in enumerate(doc["periods"]):
                w.writerow([period, key, unit, *("" if band[q][i] is None else band[q][i] / s
                                                 for q in ("p10", "p50", "p90"))])
    files["holdings.csv"] = out / "holdings.csv"
    with files["holdings.csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["start_period", "completes_p10", "completes_p50", "completes_p90"])
        for start, band in holdings.items():
            w.writerow([start, *("never" if v is None else v for v in band)])
    files["forecast.png"] = _chart(doc, out / "forecast.png")
    files["report.html"] = out / "report.html"
    files["report.html"].write_text(render_html(doc, holdings, files["forecast.png"], command), "utf-8")
    return files


def _cell(v: Any) -> str:
    return "-" if v is None else html.escape(f"{v:.6g}" if isinstance(v, float) else str(v))


def render_html(doc: Mapping[str, Any], holdings: Mapping[str, Any], chart: Path, command: str) -> str:
    """One self-contained page: headline, chart, bands, completion, calibration."""
    png = base64.b64encode(chart.read_bytes()).decode()
    nh = doc["new_holding_periods"]
    rows = []
    for i, period in enumerate(doc["periods"]):
        f = doc["figures"]
        rows.append("<tr><td>" + str(period) + "</td>" + "".join(
            f"<td>{_cell(f[k]['p10'][i])} / {_cell(f[k]['p50'][i])} / {_cell(f[k]['p90'][i])}</td>"
            for k in ("release_rate", "pool_coverage", "gmv", "pool_available")) + "</tr>")
    held = "".join(f"<tr><td>{s}</td>" + "".join(f"<td>{_cell(v) if v is not None else 'never'}</td>"
                                               for v in b) + "</tr>" for s, b in holdings.items())
    est = "".join(f"<tr><td>{html.escape(e['parameter'])}</td><td>{_cell(e['mean'])}</td>"
                  f"<td>{_cell(e['se'])}</td><td>{html.escape(e['how'])}</td></tr>"
                  for e in doc["calibration"]["estimates"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>gongsheng forecast from period {doc['starts_at_period']}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head><body>
<h1>Forecast from the books (预测), period {doc['starts_at_period']} on</h1>
<p>{html.escape(doc['note'])}. Controller <b>{html.escape(doc['controller'])}</b>, {doc['runs']} runs,
seed {doc['seed']}. A holding started now completes in <b>{_cell(nh['p50'])}</b> periods
(p10-p90: {_cell(nh['p10'])}-{_cell(nh['p90'])}; nominal {doc['nominal_periods']}).</p>
<p><code>{html.escape(command)}</code></p>
<img alt="release rate, pool coverage and GMV bands" src="data:image/png;base64,{png}" width="100%">
<h2>Bands per period (p10 / p50 / p90)</h2>
<table><tr><th>period</th><th>release rate</th><th>pool coverage</th><th>GMV (fen)</th>
<th>pool available (fen)</th></tr>{''.join(rows)}</table>
<h2>Completion period of each release group (p10, p50, p90)</h2>
<table><tr><th>start period</th><th>p10</th><th>p50</th><th>p90</th></tr>{held}</table>
<h2>Calibration</h2><table><tr><th>parameter</th><th>mean</th><th>standard error</th><th>estimator</th></tr>
{est}</table></body></html>"""


__all__ = ["render_html", "write_forecast"]
