"""The lists' pagers in chromium: older, newer and newest links by key, pages that agree with the
API's pages (``before`` = ``next_before``) while parties and orders are added between clicks, in
Chinese and English."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import Page

from .conftest import Site, screenshot
from .test_pages import sign_in

pytestmark = pytest.mark.browser

_made = itertools.count()
PAGE = 20  # forms.PAGE, as the server shows it


def _rows(page: Page, attribute: str) -> list[int]:
    return [int(v) for v in page.locator(f"tbody tr[{attribute}]").evaluate_all(
        f"rows => rows.map(r => r.getAttribute('{attribute}'))")]


def _api_pages(site: Site, user: str, path: str, key: str, **query: str) -> list[list[int]]:
    """The API's pages of ``path`` at the web's page size, newest first."""
    pages: list[list[int]] = []
    before = None
    while True:
        body = site.api(user, path, params={**query, "limit": PAGE, **({"before": before} if before else {})})
        pages.append([item[key] for item in body["items"]])
        before = body["next_before"]
        if before is None:
            return pages


def _click(page: Page, which: str) -> None:
    with page.expect_navigation():
        page.click(f"#pager-{which}")


def test_the_admin_pages_consumers_older_newer_and_newest(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    expected = _api_pages(site, "admin", "/parties", "party_id", kind="consumer")
    assert len(expected) >= 2  # the demo's 30 consumers fill more than one page
    page.goto(site.base + "/admin/parties?kind=consumer&lang=zh")
    assert _rows(page, "data-party") == expected[0]
    assert page.locator("#pager-newer").count() == 0 and page.locator("#pager-newest").count() == 0
    assert page.locator("#pager-older").inner_text() == "较早 →"
    for i, older in enumerate(expected[1:], start=1):
        site.api("admin", "/consumers", "POST", json={"name": f"Browser paged {next(_made)}"})
        _click(page, "older")  # a consumer made meanwhile is newer than the walk: not in it
        assert _rows(page, "data-party") == older, i
        assert "kind=consumer" in page.url
    assert page.locator("#pager-older").count() == 0
    screenshot(page, "admin-parties-older")
    _click(page, "newer")
    assert _rows(page, "data-party") == expected[-2]
    _click(page, "newest")
    newest = _api_pages(site, "admin", "/parties", "party_id", kind="consumer")[0]
    assert _rows(page, "data-party") == newest and newest[0] > expected[0][0]
    page.goto(site.base + "/admin/parties?kind=consumer&lang=en")
    assert page.locator("#pager-older").inner_text() == "Older →"


def test_the_merchant_pages_its_orders_by_key(page: Page, site: Site) -> None:
    me = site.parties["merchant"]
    user = site.username("merchant")
    sign_in(page, site, user, f"/merchant/{me}")
    consumer = site.parties["consumer"]
    for _ in range(PAGE + 1 - len(_api_pages(site, user, "/orders", "order_id")[0])):
        site.api(user, "/orders", "POST", headers={"Idempotency-Key": f"paged-{next(_made)}"},
                 json={"consumer_id": consumer, "merchant_id": me, "amount_fen": 1_000})
    expected = _api_pages(site, user, "/orders", "order_id")
    assert len(expected) >= 2
    page.goto(site.base + f"/merchant/{me}/orders")
    assert _rows(page, "data-order") == expected[0]
    _click(page, "older")
    assert _rows(page, "data-order") == expected[1]
    assert page.locator("#pager-newer").inner_text() == "← 较新"
    _click(page, "newer")
    assert _rows(page, "data-order") == expected[0]
