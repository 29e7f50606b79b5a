"""The stored forecast on the admin page and in the wallet, in a real browser, equal to the API's."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from gongsheng.entrypoints.forecasting import refresh
from gongsheng.services.platform import Platform

from .conftest import Site, screenshot
from .test_pages import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def stored(site: Site) -> dict[str, object]:
    plat = Platform.open(site.url)
    try:
        doc = refresh(plat, force=True)
    finally:
        plat.engine.dispose()
    assert doc is not None
    return doc


def _shown(v: object) -> str:
    return "∞" if v is None else str(v)


def test_admin_page_and_wallet_show_the_stored_forecast(page: Page, site: Site,
                                                        stored: dict[str, object]) -> None:
    api = site.api("admin", "/reports/forecast")
    assert api["figures"] == stored["figures"]
    sign_in(page, site, "admin", "/admin")
    card = page.locator("#forecast")
    assert card.locator("#forecast-bands").count() == 1
    cells = card.locator('tr[data-row="new_holding"] td').all_inner_texts()
    nh = api["new_holding_periods"]
    assert cells == [_shown(nh["p10"]), _shown(nh["p50"]), _shown(nh["p90"])]
    assert "not a promise" in card.inner_text()
    screenshot(page, "admin-forecast")

    me = site.parties["consumer"]
    sign_in(page, site, site.username("consumer"), f"/consumer/{me}")
    wallet = site.api(site.username("consumer"), f"/wallets/{me}")
    for h in (h for h in wallet["holdings"] if h["points_cpts"]):
        band = h["projected_completion_period"]
        assert band is not None
        text = page.locator(f'#holdings td[data-band="{h["start_period"]}"]').first.inner_text()
        assert text == " – ".join("P" + _shown(band[q]) for q in ("p10", "p50", "p90"))
    screenshot(page, "consumer-forecast")
