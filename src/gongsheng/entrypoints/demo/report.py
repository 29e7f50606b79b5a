"""The demo's HTML report: one self-contained page (inline CSS and SVG, no scripts, no links out)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape
from typing import Any

from gongsheng.domain.money import yuan

COLUMNS: tuple[tuple[str, str], ...] = (
    ("period", "period"), ("gmv_fen", "GMV (yuan)"), ("orders", "orders"),
    ("average_order_fen", "avg order (yuan)"), ("registered_consumers", "consumers"),
    ("active_consumers", "active"), ("purchases_per_active_consumer", "purchases / active"),
    ("concession_fen", "concession (yuan)"), ("platform_revenue_fen", "platform (yuan)"),
    ("released_fen", "released (yuan)"), ("pool_available_fen", "pool available (yuan)"),
    ("vouchers_outstanding_fen", "vouchers outstanding (yuan)"), ("release_rate", "release rate"),
    ("periods_to_complete_at_rate", "periods to complete"),
)


TERMINAL = ("period", "gmv_fen", "orders", "active_consumers", "purchases_per_active_consumer",
            "released_fen", "pool_available_fen", "release_rate", "periods_to_complete_at_rate")
"""The columns the terminal table shows (the HTML report shows all of :data:`COLUMNS`)."""


def cell(key: str, value: Any) -> str:
    """A KPI value as the report and the terminal show it."""
    if value is None:
        return "-"
    if key.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    if key == "release_rate":
        return f"{Decimal(str(value)):.4%}"
    return str(value)


def _bars(periods: list[dict[str, Any]], key: str, title: str, colour: str) -> str:
    values = [int(p.get(key) or 0) for p in periods]
    top = max([*values, 1])
    width, height, gap = 640, 160, 4
    bar = max(4, (width - gap * len(values)) // max(len(values), 1))
    rects = "".join(
        f'<rect x="{i * (bar + gap)}" y="{height - round(v / top * (height - 20))}" width="{bar}" '
        f'height="{round(v / top * (height - 20))}" fill="{colour}"><title>period '
        f'{periods[i]["period"]}: {yuan(v)} yuan</title></rect>' for i, v in enumerate(values))
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">{rects}</svg></figure>')


def render(kpis: dict[str, Any], risk: dict[str, Any], meta: dict[str, str]) -> str:
    """The report page for the demo's KPIs and risk flags."""
    periods = kpis.get("periods", [])
    head = "".join(f"<th>{escape(label)}</th>" for _, label in COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{escape(cell(k, p.get(k)))}</td>" for k, _ in COLUMNS)
                   + "</tr>" for p in periods)
    flags = "".join(f"<li><b>{escape(str(f['flag']))}</b> (period {f['period']}): "
                    f"{escape(str(f['detail']))}</li>" for f in risk.get("flags", [])) \
        or "<li>none</li>"
    info = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in meta.items())
    last = periods[-1] if periods else {}
    split = (f"users {last.get('users_share')} / platform {last.get('platform_share')} of the "
             "concession (the model's promise: 0.80 / 0.20)") if last else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gongsheng demo report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th {{ background: #f3f3f3; }}
dt {{ font-weight: bold; float: left; clear: left; width: 10rem; }}
dd {{ margin-left: 11rem; }}
figure {{ display: inline-block; margin: 1rem 2rem 1rem 0; }}
</style></head><body>
<h1>gongsheng demo: a synthetic city, period by period</h1>
<p>Generated {escape(dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))}. Releases follow what
the dividend pool can pay: the projection is at the current rate, never a promise.</p>
<dl>{info}</dl>
{_bars(periods, "gmv_fen", "GMV per period (yuan)", "#3b7dd8")}
{_bars(periods, "released_fen", "Vouchers released per period (yuan)", "#2e9e5b")}
<h2>KPIs per period</h2>
<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<p>{escape(split)}</p>
<h2>Risk flags</h2><ul>{flags}</ul>
</body></html>
"""
