"""The operator works an abuse case in chromium: a planted ring opens it at the close, the case
page shows its parties and orders, and confirming with refunds refunds them (checked against
the API)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page

from gongsheng.services import rings
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform

from .conftest import Site, measure, screenshot

pytestmark = pytest.mark.browser


def _plant_ring(site: Site) -> tuple[int, list[int], list[int]]:
    """A merchant's own card used by two new consumers, then a close (which runs the ring
    detectors); ``(merchant, consumers, orders)``."""
    plat = Platform.open(site.url)
    try:
        merchant = site.parties["merchant"]
        card = "card:" + uuid.uuid4().hex
        plat.run(rings.register_identifiers, merchant, [card], [])
        consumers = [plat.consumer(f"Ring {uuid.uuid4().hex[:6]}") for _ in range(2)]
        orders = [plat.order(OrderRequest(c, merchant, 12_000, 0, f"ring-{uuid.uuid4().hex}",
                                          None, card)).order_id for c in consumers]
        plat.close_period()
    finally:
        plat.engine.dispose()
    return merchant, consumers, orders


def test_admin_confirms_a_ring_case_with_refunds(site: Site, page: Page) -> None:
    merchant, consumers, orders = _plant_ring(site)
    found = [c for c in site.api("admin", "/cases?status=open")["items"]
             if set(orders) <= set(c["order_ids"])]
    assert len(found) == 1
    case_id = found[0]["id"]
    page.goto(site.base + "/login")
    page.fill("#username", "admin")
    page.fill("#password", site.password("admin"))
    page.click("#login-submit")
    page.wait_for_url(site.base + "/admin")
    page.click("#nav-cases")
    page.wait_for_url(site.base + "/admin/cases")
    assert page.locator(f"tr[data-case='{case_id}']").count() == 1
    measure(page, "admin cases", site.base + f"/admin/cases/{case_id}")
    shown = {int(x) for x in page.locator("#case-parties tr[data-party]").evaluate_all(
        "rows => rows.map(r => r.dataset.party)")}
    assert shown == {merchant, *consumers}
    assert {int(x) for x in page.locator("#case-orders [data-order]").evaluate_all(
        "xs => xs.map(x => x.dataset.order)")} >= set(orders)
    page.click("#investigate")
    page.wait_for_selector("#case-status[data-status='investigating']")
    page.fill("#note-body", "same card as the merchant's settlement account")
    page.click("#add-note")
    page.wait_for_selector("#case-notes li")
    screenshot(page, "admin-case")
    page.on("dialog", lambda d: d.accept())
    page.check("#refund")
    page.click("#confirm")
    page.wait_for_selector("#case-status[data-status='confirmed']")
    assert page.locator("#decided-by").inner_text() == "admin"
    after = site.api("admin", f"/cases/{case_id}")
    assert after["status"] == "confirmed" and after["notes"][0]["actor"] == "admin"
    for order_id in orders:
        order = site.api("admin", f"/orders/{order_id}")
        assert order["refunded_fen"] == order["amount_fen"]
    page.goto(site.base + "/admin/cases?lang=zh")
    assert "风险案件" in page.content()
