"""View models of the pages: pure functions from the services' figures to what a template shows.

Nothing here reads the database: the routes fetch the stored figures (one unit of work per
page) and these functions arrange them into KPI rows, tables and chart specifications. Amounts
stay integers (fen, centi-points) until a template filter formats them.

A chart is a plotly.js figure (``data`` traces and a ``layout``) as plain JSON; ``charts.js``
draws every chart of a page with the plotly.js that the ``plotly`` package ships.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gongsheng.domain.figures import PaidParts, share

Translate = Callable[[str], str]
INCENTIVES = ("partner_dividend", "ground_commission", "bm_commission", "acquisition_reward")


# --- formatting (template filters) ------------------------------------------------------------

def yuan(fen: int | None) -> str:
    """``123456`` fen -> ``¥1,234.56``; None -> an em dash."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def points(cpts: int | None) -> str:
    """Centi-points as points with two decimals."""
    if cpts is None:
        return "—"
    sign = "-" if cpts < 0 else ""
    whole, cents = divmod(abs(int(cpts)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent(fraction: str | Decimal | float | None, places: int = 2) -> str:
    """A fraction (exact decimal string) as a percentage."""
    if fraction is None or fraction == "":
        return "—"
    value = Decimal(str(fraction)) * 100
    return f"{value:.{places}f}%"


def number(value: int | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:,}"


FILTERS: dict[str, Callable[..., str]] = {"yuan": yuan, "points": points, "percent": percent,
                                          "number": number}


# --- KPI table (admin) -----------------------------------------------------------------------

@dataclass(frozen=True)
class KpiRow:
    """One figure of MODEL.md section 8: the open period so far, the last closed one, to date."""

    key: str
    fmt: str  # yuan | points | percent | number
    live: Any = None
    last: Any = None
    to_date: Any = None


def _platform_part(counters: dict[str, int]) -> int:
    return PaidParts.from_counters(counters).by_recipient.platform


def _sum(periods: list[dict[str, Any]], key: str) -> int:
    return sum(int(p.get(key) or 0) for p in periods)


def incentives_total(figures: dict[str, Any]) -> int:
    return sum(int(v) for v in figures.get("incentives_fen", {}).values())


def kpi_rows(kpis: dict[str, Any]) -> list[KpiRow]:
    """The section 8 figures: live counters of the open period, the last close, and to date."""
    closed: list[dict[str, Any]] = kpis["periods"]
    last: dict[str, Any] = closed[-1] if closed else {}
    live_period = kpis["open_period"]
    c: dict[str, int] = live_period.get("counters", {})

    def both(key: str, live: int) -> tuple[int, int | None, int]:
        return live, last.get(key), _sum(closed, key) + live

    gmv = both("gmv_fen", c.get("gmv_fen", 0))
    orders = both("orders", c.get("orders", 0))
    concession = both("concession_fen", c.get("concession_fen", 0))
    platform_live = _platform_part(c)
    platform_total = _sum(closed, "platform_revenue_fen") + platform_live
    incentives_live = c.get("incentives_fen", 0)
    incentives_all = sum(incentives_total(p) for p in closed) + incentives_live
    active = c.get("active_consumers", 0)
    rows = [
        KpiRow("gmv", "yuan", *gmv),
        KpiRow("orders", "number", *orders),
        KpiRow("average_order", "yuan", live_period.get("average_order_fen"),
               last.get("average_order_fen"), gmv[2] // orders[2] if orders[2] else None),
        KpiRow("registered_consumers", "number", live_period.get("registered_consumers"),
               last.get("registered_consumers")),
        KpiRow("active_consumers", "number", active, last.get("active_consumers")),
        KpiRow("purchases_per_active", "number", share(c.get("orders", 0), active),
               last.get("purchases_per_active_consumer")),
        KpiRow("merchants", "number", live_period.get("merchants"), last.get("merchants")),
        KpiRow("concession_income", "yuan", *concession),
        KpiRow("platform_revenue", "yuan", platform_live, last.get("platform_revenue_fen"),
               platform_total),
        KpiRow("incentives_paid", "yuan", incentives_live,
               incentives_total(last) if last else None, incentives_all),
    ]
    for part in INCENTIVES:
        part_live = c.get(f"part:{part}", 0)
        rows.append(KpiRow(f"part:{part}", "yuan", part_live,
                           last.get("incentives_fen", {}).get(part) if last else None,
                           sum(int(p.get("incentives_fen", {}).get(part, 0)) for p in closed) + part_live))
    rows += [
        KpiRow("to_pool", "yuan", *both("pool_in_fen", c.get("pool_in_fen", 0))),
        KpiRow("released", "yuan", None, last.get("released_fen"), _sum(closed, "released_fen")),
        KpiRow("vouchers_spent", "yuan", *both("vouchers_spent_fen", c.get("vouchers_spent_fen", 0))),
        KpiRow("refunds", "yuan", *both("refunds_fen", c.get("refunds_fen", 0))),
        KpiRow("pool_available", "yuan", None, last.get("pool_available_fen")),
        KpiRow("pool_reserved", "yuan", None, last.get("pool_reserved_fen")),
        KpiRow("vouchers_outstanding", "yuan", None, last.get("vouchers_outstanding_fen")),
        KpiRow("unreleased_entitlement", "yuan", None, last.get("unreleased_entitlement_fen")),
        KpiRow("release_rate", "percent", None, last.get("release_rate")),
        KpiRow("nominal_rate", "percent", None, last.get("nominal_rate")),
        KpiRow("periods_at_rate", "number", None, last.get("periods_to_complete_at_rate")),
        KpiRow("users_share", "percent", None, last.get("users_share"),
               share(concession[2] - platform_total, concession[2])),
        KpiRow("platform_share", "percent", None, last.get("platform_share"),
               share(platform_total, concession[2])),
        KpiRow("unfunded", "yuan", None, last.get("unfunded_fen"), _sum(closed, "unfunded_fen")),
    ]
    return rows


# --- charts ----------------------------------------------------------------------------------

def _y(fen: Iterable[int | None]) -> list[float | None]:
    """Fen as yuan for a chart axis (display only; the tables show exact amounts)."""
    return [None if v is None else int(v) / 100 for v in fen]


def _chart(chart_id: str, title: str, traces: list[dict[str, Any]], y_title: str,
           barmode: str | None = None, y_format: str = ",.2f") -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}}, "height": 300,
        "margin": {"l": 80, "r": 16, "t": 40, "b": 40},
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": y_title}, "tickformat": y_format, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2}, "hovermode": "x unified",
    }
    if barmode:
        layout["barmode"] = barmode
    return {"id": chart_id, "data": traces, "layout": layout}


def admin_charts(closed: list[dict[str, Any]], _: Translate) -> list[dict[str, Any]]:
    """GMV, the concession split, the pool, the release rate against 1/N, coverage by region."""
    x = [f"P{p['period']}" for p in closed]
    channels = sorted({ch for p in closed for ch in p.get("gmv_by_channel_fen", {})})
    gmv: list[dict[str, Any]] = [{"type": "bar", "name": _(f"channel:{ch}"), "x": x,
            "y": _y(p.get("gmv_by_channel_fen", {}).get(ch, 0) for p in closed)} for ch in channels]
    if not channels:
        gmv = [{"type": "bar", "name": _("gmv"), "x": x, "y": _y(p["gmv_fen"] for p in closed)}]
    platform = [int(p.get("platform_revenue_fen", 0)) for p in closed]
    incentives = [incentives_total(p) for p in closed]
    pool = [int(p.get("concession_fen", 0)) - a - b for p, a, b in zip(closed, platform, incentives,
                                                                       strict=True)]
    split: list[dict[str, Any]] = [{"type": "bar", "name": _("split:platform"), "x": x, "y": _y(platform)},
             {"type": "bar", "name": _("split:incentives"), "x": x, "y": _y(incentives)},
             {"type": "bar", "name": _("split:pool"), "x": x, "y": _y(pool)}]
    pool_lines: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": _("pool_available"), "x": x,
         "y": _y(p.get("pool_available_fen") for p in closed)},
        {"type": "scatter", "mode": "lines+markers", "name": _("pool_reserved"), "x": x,
         "y": _y(p.get("pool_reserved_fen") for p in closed)},
        {"type": "scatter", "mode": "lines", "name": _("vouchers_outstanding"), "x": x,
         "y": _y(p.get("vouchers_outstanding_fen") for p in closed), "line": {"dash": "dot"}},
    ]
    rate: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": _("release_rate"), "x": x,
         "y": [float(Decimal(p["release_rate"]) * 100) for p in closed]},
        {"type": "scatter", "mode": "lines", "name": _("nominal_rate"), "x": x,
         "y": [float(Decimal(p["nominal_rate"]) * 100) for p in closed], "line": {"dash": "dash"}},
    ]
    regions: dict[str, list[float | None]] = {}
    for i, p in enumerate(closed):
        for r in p.get("regions", []):
            if r.get("coverage") is None:
                continue
            regions.setdefault(r["name"], [None] * len(closed))[i] = float(Decimal(r["coverage"]) * 100)
    coverage: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": name, "x": x, "y": ys}
        for name, ys in regions.items()]
    return [
        _chart("gmv", _("chart:gmv"), gmv, _("axis:yuan"), "stack"),
        _chart("split", _("chart:split"), split, _("axis:yuan"), "stack"),
        _chart("pool", _("chart:pool"), pool_lines, _("axis:yuan")),
        _chart("rate", _("chart:rate"), rate, _("axis:pct_cap"), y_format=".3f"),
        _chart("coverage", _("chart:coverage"), coverage, _("axis:pct"), y_format=".2f"),
    ]


def merchant_chart(activity: dict[str, Any], _: Translate) -> dict[str, Any]:
    x = [f"P{r['period']}" for r in activity["periods"]]
    rows = activity["periods"]
    return _chart("sales", _("chart:sales"), [
        {"type": "bar", "name": _("sales"), "x": x, "y": _y(r["sales_fen"] for r in rows)},
        {"type": "bar", "name": _("concession"), "x": x, "y": _y(r["concession_fen"] for r in rows)},
        {"type": "bar", "name": _("acquisition_rewards"), "x": x,
         "y": _y(r["acquisition_rewards_fen"] for r in rows)},
    ], _("axis:yuan"), "group")


def payback_chart(report: dict[str, Any], _: Translate) -> dict[str, Any]:
    """Dividends per period (bars, yuan) and the cumulative share of the investment paid back (%)."""
    rows = report["dividends"]
    x = [f"P{r['period']}" for r in rows]
    invested = int(report["investment_fen"])
    chart = _chart("payback", _("chart:payback"), [
        {"type": "bar", "name": _("dividend"), "x": x, "y": _y(r["dividend_fen"] for r in rows)},
        {"type": "scatter", "mode": "lines+markers", "name": _("of_investment"), "x": x, "yaxis": "y2",
         "y": [r["cumulative_fen"] * 100 / invested if invested else None for r in rows]},
    ], _("axis:yuan"))
    chart["layout"]["yaxis2"] = {"overlaying": "y", "side": "right", "ticksuffix": "%",
                                 "rangemode": "tozero", "showgrid": False}
    chart["layout"]["margin"]["r"] = 64
    return chart


def commission_chart(periods: list[dict[str, Any]], _: Translate) -> dict[str, Any]:
    x = [f"P{r['period']}" for r in periods]
    return _chart("commissions", _("chart:commissions"), [
        {"type": "bar", "name": _("commissions"), "x": x, "y": _y(r["commission_fen"] for r in periods)},
    ], _("axis:yuan"))


# --- participants ----------------------------------------------------------------------------

def commissions_by_period(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """Cash earned net of refunds, per period, from a statement (what a BM or promoter was paid)."""
    return [{"period": r["period"], "commission_fen": r["earned_fen"] + r["reversed_fen"],
             "paid_out_fen": -r["paid_out_fen"]} for r in statement["periods"]
            if r["earned_fen"] or r["reversed_fen"] or r["paid_out_fen"]]


def holdings_view(holdings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Holdings with their progress (released of cap) as a percentage for the bar."""
    out = []
    for h in holdings:
        if not h["points_cpts"]:
            continue
        fraction = Decimal(h["released_fraction"])
        out.append({**h, "progress": float(min(fraction, Decimal(1)) * 100)})
    return out


def projection(holdings: list[dict[str, Any]]) -> int | None:
    """Periods until every holding completes at the current rate (None when nothing releases)."""
    waits = [h["periods_to_complete"] for h in holdings]
    if not waits or any(w is None for w in waits):
        return None
    return max(int(w) for w in waits)


__all__ = ["FILTERS", "KpiRow", "admin_charts", "commission_chart", "commissions_by_period",
           "holdings_view", "kpi_rows", "merchant_chart", "payback_chart", "projection"]
