"""The web pages in a real browser: each role signs in and sees its own figures, equal to the API's.

Runs against uvicorn on a small demo database (see ``conftest.py``). Every figure a test checks
is read from the page's ``data-v`` attribute (the exact integer behind the formatted text) and
compared with the JSON the API returns for the same party. Screenshots of every page and the
page load times measured by the browser go to ``screenshots/``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page

from gongsheng.services.platform import Platform
from gongsheng.views import dashboards

from .conftest import PASSWORD, Site, measure, screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, site: Site, username: str, expect: str) -> None:
    page.goto(site.base + "/login")
    page.fill("#username", username)
    page.fill("#password", site.password(username))
    page.click("#login-submit")
    page.wait_for_url(site.base + expect)


def value(page: Page, selector: str) -> int | None:
    """The exact value behind a figure (``data-v``)."""
    raw = page.locator(selector).first.get_attribute("data-v")
    return None if raw in (None, "") else int(raw)


def values(page: Page, selector: str) -> list[int]:
    return [int(v) for v in page.locator(selector).evaluate_all("els => els.map(e => e.dataset.v)")]


def charts(page: Page) -> dict[str, dict[str, Any]]:
    """For each drawn chart: its traces and points, and how many plotted marks the SVG holds."""
    page.wait_for_function("() => document.body.dataset.chartsReady === '1'")
    return dict(page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('.chart')].map(el => [el.dataset.chart, {
            traces: (el.data || []).length,
            points: Math.max(0, ...(el.data || []).map(d => (d.x || []).length)),
            marks: el.querySelectorAll('.point, .bars path, .scatterlayer path.js-line').length,
        }]))"""))


def assert_charts_drawn(page: Page, expected: set[str]) -> dict[str, dict[str, Any]]:
    drawn = charts(page)
    assert set(drawn) == expected
    for name, chart in drawn.items():
        assert chart["traces"] > 0 and chart["points"] > 0 and chart["marks"] > 0, (name, chart)
    return drawn


# --- sign-in ---------------------------------------------------------------------------------

def test_sign_in_errors_language_and_sign_out(page: Page, site: Site) -> None:
    response = page.goto(site.base + "/admin")
    assert response is not None and page.url.startswith(site.base + "/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#login-submit").inner_text() == "登录"
    page.fill("#username", "admin")
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()
    page.click("a[data-lang=en]")
    assert page.locator("#login-submit").inner_text() == "Sign in"
    screenshot(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(site.base + "/admin")  # ?next= brings the admin back to the page asked for
    assert page.locator("h1").first.inner_text() == "Operator's dashboard"
    page.goto(site.base + "/admin?lang=zh")
    assert page.locator("h1").first.inner_text() == "平台运营看板"
    page.goto(site.base + "/admin")
    assert page.locator("h1").first.inner_text() == "平台运营看板"  # the choice is remembered
    page.click("#logout")
    page.wait_for_url(site.base + "/login")
    page.goto(site.base + "/admin")
    assert page.url.startswith(site.base + "/login")


def test_forms_refuse_a_missing_csrf_token(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    before = site.api("admin", "/reports/kpis")["open_period"]["period"]
    response = page.request.post(site.base + "/admin/close", form={"period": str(before), "csrf": "x"})
    assert response.status == 403
    assert site.api("admin", "/reports/kpis")["open_period"]["period"] == before


# --- the operator ----------------------------------------------------------------------------

def test_admin_page_shows_the_apis_figures(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    measure(page, "admin (first visit)")
    kpis = site.api("admin", "/reports/kpis")
    risk = site.api("admin", "/risk")
    last, live = kpis["periods"][-1], kpis["open_period"]
    cell = 'tr[data-row="{}"] td[data-col="{}"] .fig'
    assert value(page, cell.format("gmv", "last")) == last["gmv_fen"]
    assert value(page, cell.format("gmv", "live")) == live["gmv_fen"]
    assert value(page, cell.format("gmv", "to_date")) == sum(p["gmv_fen"] for p in kpis["periods"]) \
        + live["gmv_fen"]
    assert value(page, cell.format("orders", "last")) == last["orders"]
    assert value(page, cell.format("concession_income", "last")) == last["concession_fen"]
    assert value(page, cell.format("platform_revenue", "last")) == last["platform_revenue_fen"]
    assert value(page, cell.format("pool_available", "last")) == last["pool_available_fen"]
    assert value(page, cell.format("vouchers_outstanding", "last")) == last["vouchers_outstanding_fen"]
    for part, fen in last["incentives_fen"].items():
        assert value(page, cell.format(f"part:{part}", "last")) == fen
    rate = page.locator(cell.format("release_rate", "last")).get_attribute("data-v")
    assert rate == last["release_rate"]
    flags = page.locator("#risk tr[data-flag]")
    assert flags.count() == len(risk["flags"])
    regions = {r["region_id"]: r for r in last["regions"]}
    assert page.locator("#regions tr[data-region]").count() == len(regions)
    for ch, n in last["merchants_by_channel"].items():
        assert value(page, f'#channels tr[data-channel="{ch}"] [data-k="merchants"]') == n
    drawn = assert_charts_drawn(page, {"gmv", "split", "pool", "rate", "coverage"})
    assert all(c["points"] == len(kpis["periods"]) for c in drawn.values())
    screenshot(page, "admin")


def test_admin_closes_a_period_and_the_charts_gain_a_point(page: Page, site: Site) -> None:
    consumer, merchant = site.parties["consumer"], site.parties["merchant"]
    order = site.api("admin", "/orders", "POST", headers={"Idempotency-Key": f"browser-{uuid.uuid4()}"},
                     json={"consumer_id": consumer, "merchant_id": merchant, "amount_fen": 12_345,
                           "voucher_fen": 0})
    sign_in(page, site, "admin", "/admin")
    before = site.api("admin", "/reports/kpis")
    assert value(page, 'tr[data-row="gmv"] td[data-col="live"] .fig') == before["open_period"]["gmv_fen"]
    assert before["open_period"]["gmv_fen"] >= order["amount_fen"]
    points_before = charts(page)["gmv"]["points"]
    closing = before["open_period"]["period"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-period")
    page.wait_for_url(f"{site.base}/admin?closed={closing}")
    after = site.api("admin", "/reports/kpis")
    assert after["periods"][-1]["period"] == closing
    assert after["periods"][-1]["gmv_fen"] == before["open_period"]["gmv_fen"]
    assert page.locator("#open-period").inner_text() == str(closing + 1)
    assert value(page, 'tr[data-row="gmv"] td[data-col="last"] .fig') == after["periods"][-1]["gmv_fen"]
    drawn = assert_charts_drawn(page, {"gmv", "split", "pool", "rate", "coverage"})
    assert drawn["gmv"]["points"] == points_before + 1
    assert all(c["points"] == len(after["periods"]) for c in drawn.values())
    screenshot(page, "admin-after-close")


# --- participants ----------------------------------------------------------------------------

def test_consumer_page_shows_its_wallet_and_orders(page: Page, site: Site) -> None:
    me = site.parties["consumer"]
    sign_in(page, site, site.username("consumer"), f"/consumer/{me}")
    measure(page, "consumer (first visit)")
    user = site.username("consumer")
    wallet = site.api(user, f"/wallets/{me}")
    assert value(page, '[data-k="points_cpts"]') == wallet["points_cpts"]
    assert value(page, '[data-k="vouchers_fen"]') == wallet["vouchers_fen"]
    holdings = [h for h in wallet["holdings"] if h["points_cpts"]]
    assert values(page, '#holdings [data-k="holding_points"]') == [h["points_cpts"] for h in holdings]
    assert values(page, '#holdings [data-k="holding_cap"]') == [h["cap_fen"] for h in holdings]
    assert values(page, '#holdings [data-k="holding_released"]') == [h["released_fen"] for h in holdings]
    bars = page.locator("#holdings progress").evaluate_all("els => els.map(e => e.value)")
    assert bars == pytest.approx([float(h["released_fraction"]) * 100 for h in holdings], abs=1e-3)
    assert any(b > 0 for b in bars)
    assert "推算" in page.locator("#projection").inner_text()  # labelled as a projection
    me_api = site.api(user, "/me")
    assert page.locator("#referral-code").inner_text() == me_api["party"]["referral_code"]
    orders = site.api(user, "/orders?limit=20")["items"]
    shown = page.locator("#orders tr[data-order]").evaluate_all("els => els.map(e => +e.dataset.order)")
    assert shown == [o["order_id"] for o in orders] and shown
    screenshot(page, "consumer")


def test_a_consumer_cannot_see_another_consumers_page(page: Page, site: Site) -> None:
    me, other = site.parties["consumer"], site.others["consumer"]
    sign_in(page, site, site.username("consumer"), f"/consumer/{me}")
    theirs = site.api("admin", f"/wallets/{other}")
    code = site.api(site.username("consumer", other), "/me")["party"]["referral_code"]
    for path in (f"/consumer/{other}", f"/merchant/{site.parties['merchant']}", "/admin",
                 f"/partner/{site.parties['partner']}", "/consumer/999999"):
        response = page.goto(site.base + path)
        assert response is not None and response.status == 403, path
        html = page.content()
        assert code not in html and "data-k=" not in html
    assert page.locator("#error-status").inner_text().startswith("403")
    assert theirs["party_id"] == other
    screenshot(page, "consumer-refused")


def test_merchant_page(page: Page, site: Site) -> None:
    me = site.parties["merchant"]
    user = site.username("merchant")
    sign_in(page, site, user, f"/merchant/{me}")
    measure(page, "merchant (first visit)")
    wallet = site.api(user, f"/wallets/{me}")
    assert value(page, '[data-k="cash_fen"]') == wallet["cash_fen"]
    assert value(page, '[data-k="points_cpts"]') == wallet["points_cpts"]
    assert value(page, '[data-k="vouchers_fen"]') == wallet["vouchers_fen"]
    orders, before = [], None
    while True:
        chunk = site.api(user, "/orders?limit=200" + (f"&before={before}" if before else ""))
        orders += chunk["items"]
        before = chunk["next_before"]
        if before is None:
            break
    assert value(page, '[data-k="sales_fen"]') == sum(o["amount_fen"] for o in orders)
    assert value(page, '[data-k="concession_fen"]') == sum(o["concession_fen"] for o in orders)
    plat = Platform.open(site.url)
    try:
        activity = plat.read(dashboards.merchant_activity, me)
        programmes = plat.read(dashboards.share_programmes, me)
    finally:
        plat.engine.dispose()
    assert value(page, '[data-k="acquisition_rewards_fen"]') == activity["totals"]["acquisition_rewards_fen"]
    assert programmes and value(page, '[data-k="units_sold"]') == programmes[0]["units_sold"]
    assert value(page, '[data-k="paid_total"]') == programmes[0]["paid_total_fen"]
    assert_charts_drawn(page, {"sales"})
    screenshot(page, "merchant")


def test_business_manager_page(page: Page, site: Site) -> None:
    me = site.parties["bm"]
    user = site.username("bm")
    sign_in(page, site, user, f"/bm/{me}")
    measure(page, "bm (first visit)")
    bound = site.api(user, f"/business-managers/{me}/merchants")
    assert value(page, '[data-k="commissions_fen"]') == bound["commissions_fen"] > 0
    shown = page.locator("#merchants tr[data-merchant]").evaluate_all(
        "els => els.map(e => +e.dataset.merchant)")
    assert shown == [m["merchant_id"] for m in bound["merchants"]]
    statement = site.api(user, f"/statements/{me}")
    assert value(page, '[data-k="cash_balance_fen"]') == statement["cash_balance_fen"]
    assert sum(values(page, '#commissions [data-k="commission"]')) == bound["commissions_fen"]
    assert_charts_drawn(page, {"commissions"})
    screenshot(page, "bm")


def test_partner_page(page: Page, site: Site) -> None:
    me = site.parties["partner"]
    user = site.username("partner")
    sign_in(page, site, user, f"/partner/{me}")
    measure(page, "partner (first visit)")
    report = site.api(user, f"/partners/{me}/report")
    assert value(page, '[data-k="investment_fen"]') == report["investment_fen"]
    assert value(page, '[data-k="dividends_total_fen"]') == report["dividends_total_fen"] > 0
    assert page.locator('[data-k="payback"]').get_attribute("data-v") == report["payback"]
    assert values(page, '#dividends [data-k="dividend"]') == [d["dividend_fen"] for d in report["dividends"]]
    assert value(page, '[data-k="team_commissions_fen"]') == report["team_commissions_fen"]
    assert values(page, '#team [data-k="commissions"]') == [m["commissions_fen"] for m in report["team"]]
    assert value(page, '[data-k="region_merchants"]') == report["region"]["merchants"]
    assert_charts_drawn(page, {"payback"})
    screenshot(page, "partner")


def test_promoter_page(page: Page, site: Site) -> None:
    me, partner = site.parties["promoter"], site.parties["partner"]
    user = site.username("promoter")
    sign_in(page, site, user, f"/promoter/{me}")
    measure(page, "promoter (first visit)")
    statement = site.api(user, f"/statements/{me}")
    earned = sum(p["earned_fen"] + p["reversed_fen"] for p in statement["periods"])
    assert value(page, '[data-k="commissions_fen"]') == earned > 0
    assert value(page, '[data-k="cash_balance_fen"]') == statement["cash_balance_fen"]
    team = {m["promoter_id"]: m for m in site.api("admin", f"/partners/{partner}/report")["team"]}
    assert value(page, '[data-k="merchants"]') == team[me]["merchants_signed"] > 0
    assert page.locator("#merchants tr[data-merchant]").count() == team[me]["merchants_signed"]
    assert earned == team[me]["commissions_fen"]
    assert_charts_drawn(page, {"commissions"})
    screenshot(page, "promoter")


def test_a_promoter_s_merchants_page_by_key(page: Page, site: Site) -> None:
    """Below the newest merchant the page lists the others and links to the newer page, which
    lists the newest alone, links to no newer one and back to the older (paged by key, newest
    first)."""
    me = site.parties["promoter"]
    user = site.username("promoter")
    sign_in(page, site, user, f"/promoter/{me}")
    rows = page.locator("#merchants tr[data-merchant]")
    signed = rows.evaluate_all("els => els.map(e => +e.dataset.merchant)")
    assert signed == sorted(signed, reverse=True) and page.locator("#pager-newer").count() == 0
    page.goto(f"{site.base}/promoter/{me}?before={signed[0]}")
    assert rows.evaluate_all("els => els.map(e => +e.dataset.merchant)") == signed[1:]
    assert value(page, '[data-k="merchants"]') == len(signed)  # the count is the whole list's
    page.click("#pager-newer")  # the nearest rows above the page's first: the newest merchant
    assert rows.evaluate_all("els => els.map(e => +e.dataset.merchant)") == signed[:1]
    assert page.locator("#pager-newer").count() == 0
    page.click("#pager-older")
    assert rows.evaluate_all("els => els.map(e => +e.dataset.merchant)") == signed[1:]


def test_admin_opens_any_party_page_and_pages_load_quickly(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    for role, party in site.parties.items():
        page.goto(f"{site.base}/admin/party?id={party}")
        page.wait_for_url(f"{site.base}/{role}/{party}")
        assert page.locator("h1").first.is_visible()
    pages = [("admin", site.base + "/admin"),
             *((role, f"{site.base}/{role}/{party}") for role, party in site.parties.items())]
    for _, url in pages:  # a first visit of each page fills the browser's cache
        page.goto(url)
        page.wait_for_function("() => !document.getElementById('charts-data') || "
                               "document.body.dataset.chartsReady === '1'")
    for role, url in pages:  # as a returning visitor sees them
        timing = measure(page, f"{role} (warm)", url)
        assert timing["server"] < 1000, timing  # generous: the figures are reported, not judged
