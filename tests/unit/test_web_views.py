"""The web pages' view models and words: formatting, the KPI rows, every key translated."""

from __future__ import annotations

import re
from pathlib import Path

from gongsheng.entrypoints.web import views
from gongsheng.entrypoints.web.i18n import TEXT, translator

WEB = Path(views.__file__).parent


def test_amounts_are_formatted_from_integers_exactly() -> None:
    assert views.yuan(123456) == "¥1,234.56"
    assert views.yuan(-5) == "-¥0.05"
    assert views.yuan(None) == "—"
    assert views.points(20_000) == "200.00"
    assert views.percent("0.027777777777777778", 3) == "2.778%"
    assert views.percent(None) == "—"


def _period(seq: int, gmv: int, platform: int, incentives: dict[str, int], concession: int) -> dict:
    return {"period": seq, "gmv_fen": gmv, "orders": 2, "concession_fen": concession,
            "platform_revenue_fen": platform, "incentives_fen": incentives, "released_fen": 7,
            "release_rate": "0.025", "nominal_rate": "0.025", "regions": [
                {"name": "Hangzhou", "coverage": "0.0100"}, {"name": "Zhejiang", "coverage": None}],
            "gmv_by_channel_fen": {"mall": gmv}}


def test_kpi_rows_add_the_open_period_to_the_closed_ones() -> None:
    closed = [_period(1, 100_000, 4000, {"partner_dividend": 3000}, 20_000),
              _period(2, 50_000, 2000, {"partner_dividend": 1500}, 10_000)]
    kpis = {"periods": closed, "open_period": {
        "period": 3, "gmv_fen": 1000, "orders": 1, "average_order_fen": 1000,
        "counters": {"gmv_fen": 1000, "orders": 1, "concession_fen": 200, "part:platform_fee": 40,
                     "to:platform": 40, "part:partner_dividend": 30, "to:region_partner": 30,
                     "incentives_fen": 30}}}
    rows = {r.key: r for r in views.kpi_rows(kpis)}
    assert (rows["gmv"].live, rows["gmv"].last, rows["gmv"].to_date) == (1000, 50_000, 151_000)
    assert rows["platform_revenue"].to_date == 6040
    assert rows["part:partner_dividend"].to_date == 4530
    assert rows["platform_share"].to_date == "0.2000"
    assert rows["released"].to_date == 14


def test_admin_charts_have_one_point_per_closed_period() -> None:
    closed = [_period(1, 100_000, 4000, {"partner_dividend": 3000}, 20_000),
              _period(2, 50_000, 2000, {"partner_dividend": 1500}, 10_000)]
    charts = {c["id"]: c for c in views.admin_charts(closed, translator("en"))}
    assert set(charts) == {"gmv", "split", "pool", "rate", "coverage"}
    for chart in charts.values():
        assert all(len(trace["x"]) == 2 for trace in chart["data"])
    split = charts["split"]["data"]
    assert [t["y"] for t in split] == [[40.0, 20.0], [30.0, 15.0], [130.0, 65.0]]  # sums to C
    assert [t["name"] for t in charts["coverage"]["data"]] == ["Hangzhou"]


def test_every_word_the_pages_use_exists_in_both_languages() -> None:
    used: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), WEB / "views.py", WEB / "routes.py",
                 WEB / "routes_cases.py"]:
        used |= set(re.findall(r"""_\(['"]([a-z_:0-9]+)['"]\)""", path.read_text("utf-8")))
    dynamic = {f"{prefix}:{v}" for prefix, values in {
        "channel": ("mall", "brand", "alliance"), "level": ("province", "city", "district"),
        "role": ("admin", "consumer", "merchant", "bm", "partner", "promoter"),
        "error": ("403", "404", "409", "422", "500"),
        "part": views.INCENTIVES,
        "flag": ("release_below_nominal", "coverage_above_threshold", "pool_coverage_below_1",
                 "unfunded_release", "velocity", "wash_trading_suspect", "self_referral_suspect",
                 "refund_after_release", "wash_trading", "wash_ring", "self_referral_ring",
                 "circular_trading", "manual"),
        "status": ("open", "investigating", "confirmed", "dismissed"),
        "move": ("investigating", "confirmed", "dismissed")}.items() for v in values}
    missing = sorted(k for k in used | dynamic if k not in TEXT)
    assert not missing
    assert all(zh and en for zh, en in TEXT.values())
