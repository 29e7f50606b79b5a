"""The operator's attestation page: every statement of a closed period, in both languages, and
the signed file, which verifies with the public key the page shows."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import Page

from gongsheng.domain.attestation import verify

from .conftest import Site, screenshot
from .test_pages import sign_in

pytestmark = pytest.mark.browser


def test_admin_reads_and_downloads_the_attestation(page: Page, site: Site) -> None:
    sign_in(page, site, "admin", "/admin")
    page.goto(site.base + "/admin/attestation?period=2&lang=en")
    assert page.locator("h1").inner_text() == "Compliance attestation per period"
    rows = page.locator("#statements tbody tr")
    assert rows.count() == 8
    names = [rows.nth(i).get_attribute("data-statement") for i in range(rows.count())]
    assert "period_sealed" in names and "rewards_one_direct_relationship" in names
    held = [rows.nth(i).get_attribute("data-holds") for i in range(rows.count())]
    verdict = page.locator("#verdict").get_attribute("data-holds")
    assert verdict == ("1" if all(h == "1" for h in held) else "0")
    assert page.locator("#period").input_value() == "2"
    screenshot(page, "admin-attestation")
    with page.expect_download() as download:
        page.click("#download")
    document = download.value.path().read_bytes()
    public = base64.b64decode(page.locator("#public-key").inner_text())
    checked = verify(document, public)
    assert checked.ok, checked.detail
    assert checked.body is not None and checked.body["period"] == 2
    page.goto(site.base + "/admin/attestation?period=2&lang=zh")
    assert page.locator("h1").inner_text() == "合规证明（按期）"
    assert "本期账簿封存" in page.locator("#statements").inner_text()


def test_the_page_is_for_operators_only(page: Page, site: Site) -> None:
    consumer = site.username("consumer")
    sign_in(page, site, consumer, f"/consumer/{site.parties['consumer']}")
    response = page.goto(site.base + "/admin/attestation")
    assert response is not None and response.status == 403
