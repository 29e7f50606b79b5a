"""The operator's audit page in a real browser: an action done on the web appears with its actor,
filters and cursor pages agree with ``GET /api/v1/audit-log``, Chinese and English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import Site, screenshot
from .test_pages import sign_in

pytestmark = pytest.mark.browser


def _ids(page: Page) -> list[int]:
    return [int(v) for v in page.locator("#audit tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)")]


def test_a_close_on_the_web_is_on_the_audit_page_with_its_actor(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    closing = int(page.locator("#open-period").inner_text())
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation(url=f"{site.base}/admin?closed={closing}", timeout=90_000):
        page.click("#close-period", no_wait_after=True)  # a close on a busy host takes a while
    page.click("#nav-audit")
    page.wait_for_url(site.base + "/admin/audit")
    api = site.api("admin", "/audit-log", params={"limit": 50})
    assert _ids(page) == [r["id"] for r in api["items"]]
    top = page.locator('#audit tr[data-action="period.closed"]').first
    assert top.locator(".actor").inner_text() == "admin"
    assert top.locator(".target").inner_text() == f"period:{closing}"
    [record] = [r for r in api["items"] if r["target"] == f"period:{closing}"]
    assert record["actor"] == "admin" and record["request_id"]  # the web request's id
    screenshot(page, "admin-audit")


def test_filters_and_pages_agree_with_the_api(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    page.goto(site.base + "/admin/audit")
    page.fill("#f-action", "party.registered")
    page.click("#audit-filter button")
    page.wait_for_url("**/admin/audit?**action=party.registered**")
    first = _ids(page)
    assert set(page.locator("#audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")) == {"party.registered"}
    walked = [r["id"] for r in site.api("admin", "/audit-log", params={
        "action": "party.registered", "limit": 200})["items"]]
    assert first == walked[:50] and len(walked) > 50  # the demo registered many parties
    page.click("#pager-next")
    page.wait_for_load_state()
    second = _ids(page)
    assert second == walked[50:100] and not set(first) & set(second)
    assert page.locator("#f-action").input_value() == "party.registered"  # the filter stays
    page.click("#pager-first")
    page.wait_for_load_state()
    assert _ids(page) == first


def test_the_page_speaks_chinese_and_is_for_operators_only(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    page.goto(site.base + "/admin/audit?lang=zh")
    assert "审计日志" in page.locator("h1").inner_text()
    assert page.locator("#audit thead").inner_text().count("操作") >= 2
    page.goto(site.base + "/admin/audit?lang=en&since=not-a-time")
    assert "ISO 8601" in page.content()
    page.context.clear_cookies()
    consumer = site.username("consumer")
    sign_in(page, site, consumer, f"/consumer/{site.parties['consumer']}")
    response = page.goto(site.base + "/admin/audit")
    assert response is not None and response.status == 403
    assert page.locator("#audit").count() == 0
