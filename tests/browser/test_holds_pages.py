"""Held and available cash on the earners' pages, and the admin's freeze control, in chromium.

Every figure is read from the page's ``data-v`` and compared with the API's statement or wallet
for the same party; the freeze made from the admin's party list is checked through the API.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import Site, screenshot
from .test_pages import sign_in, value

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("role", ["partner", "bm", "promoter"])
def test_earners_see_held_and_available_apart(page: Page, site: Site, role: str) -> None:
    me = site.parties[role]
    user = site.username(role)
    sign_in(page, site, user, f"/{role}/{me}")
    statement = site.api(user, f"/statements/{me}")
    held = value(page, "[data-k=cash_held_fen]")
    available = value(page, "[data-k=cash_available_fen]")
    assert (held, available) == (statement["cash_held_fen"], statement["cash_available_fen"])
    assert held == sum(h["held_fen"] for h in statement["holds"])
    assert value(page, "[data-k=cash_balance_fen]") == statement["cash_balance_fen"]


def test_the_merchant_sees_held_and_available_apart(page: Page, site: Site) -> None:
    me = site.parties["merchant"]
    user = site.username("merchant")
    sign_in(page, site, user, f"/merchant/{me}")
    wallet = site.api(user, f"/wallets/{me}")
    assert value(page, "[data-k=cash_held_fen]") == wallet["cash_held_fen"]
    assert value(page, "[data-k=cash_available_fen]") == wallet["cash_available_fen"]
    assert wallet["cash_held_fen"] + wallet["cash_available_fen"] >= min(wallet["cash_fen"], 0)
    page.goto(site.base + f"/merchant/{me}/cashier")
    assert value(page, "#cash-split [data-k=cash_available_fen]") == wallet["cash_available_fen"]


def test_the_admin_freezes_and_unfreezes_a_party(page: Page, site: Site) -> None:
    bm = site.parties["bm"]
    sign_in(page, site, "admin", "/admin")
    page.goto(site.base + f"/admin/parties?q={bm}")
    row = page.locator(f"tr[data-party='{bm}']")
    row.locator("form.freeze input[name=reason]").fill("browser test review")
    row.locator("form.freeze button").click()
    page.wait_for_url(f"**/admin/parties?q={bm}")
    assert page.locator(f"tr[data-party='{bm}'] [data-frozen]").count() == 1
    status = site.api("admin", f"/parties/{bm}/freeze")
    assert status["frozen"] is True and status["reason"] == "browser test review"
    assert status["history"][0]["frozen_by"] == "admin"
    screenshot(page, "admin-parties-frozen")
    page.locator(f"tr[data-party='{bm}'] form.unfreeze button").click()
    page.wait_for_url(f"**/admin/parties?q={bm}")
    assert page.locator(f"tr[data-party='{bm}'] form.freeze").count() == 1
    assert site.api("admin", f"/parties/{bm}/freeze")["frozen"] is False
