"""Freezes over HTTP: admin only, problem+json refusals while frozen, resumption after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .test_api import order, problem

if TYPE_CHECKING:
    from .conftest import Api


def test_freeze_and_unfreeze_a_merchant(api: Api) -> None:
    merchant = api.city.merchant
    problem(api.call("POST", f"/parties/{merchant}/freeze", "merchant", json={"reason": "x"}), 403)
    problem(api.call("POST", f"/parties/{merchant}/freeze", json={}), 422)  # a reason is needed
    problem(api.call("POST", "/parties/999999/freeze", json={"reason": "x"}), 404)
    frozen = api.call("POST", f"/parties/{merchant}/freeze", json={"reason": "wash trading"})
    assert frozen.status_code == 200, frozen.text
    body = frozen.json()
    assert body["frozen"] is True and body["reason"] == "wash trading" and body["kind"] == "merchant"
    assert body["history"][0]["frozen_by"] and body["history"][0]["unfrozen_at"] is None
    refused = problem(order(api, key="while-frozen"), 409)
    assert refused["type"] == "urn:gongsheng:problem:party-frozen" and "frozen" in refused["detail"]
    assert api.call("GET", "/orders").json()["items"] == []  # nothing was placed
    problem(api.call("GET", f"/parties/{merchant}/freeze", "merchant"), 403)
    problem(api.call("POST", f"/parties/{merchant}/unfreeze", "merchant"), 403)
    ended = api.call("POST", f"/parties/{merchant}/unfreeze")
    assert ended.status_code == 200 and ended.json()["frozen"] is False
    assert api.call("GET", f"/parties/{merchant}/freeze").json()["history"][0]["unfrozen_by"]
    assert order(api, key="after").status_code == 201


def test_a_frozen_wallet_says_so(api: Api) -> None:
    consumer = api.city.consumer
    assert api.call("POST", f"/parties/{consumer}/freeze", json={"reason": "review"}).status_code == 200
    wallet = api.call("GET", f"/wallets/{consumer}", "consumer").json()
    assert wallet["frozen"] is True and wallet["vouchers_withheld_fen"] == 0
    assert wallet["cash_held_fen"] == 0 and wallet["cash_available_fen"] == 0


def test_the_admin_page_freezes_and_the_partner_page_shows_held_cash(api: Api) -> None:
    """Through the HTML forms (the browser test runs the same in chromium)."""
    from .test_party_pages import form, sign_in

    assert order(api, 1_000_000, key="big").status_code == 201  # the partner earns 300.00, held
    bm = api.city.bm
    sign_in(api, "admin")
    html, keys = form(api, f"/admin/parties?q={bm}")
    assert f'action="/admin/parties/{bm}/freeze"' in html
    done = api.client.post(f"/admin/parties/{bm}/freeze", data={**keys, "reason": "page review"},
                           follow_redirects=False)
    assert done.status_code == 303, done.text
    status = api.call("GET", f"/parties/{bm}/freeze").json()
    assert status["frozen"] is True and status["reason"] == "page review"
    html, keys = form(api, f"/admin/parties?q={bm}")
    assert "data-frozen" in html
    api.client.post(f"/admin/parties/{bm}/unfreeze", data=keys, follow_redirects=False)
    assert api.call("GET", f"/parties/{bm}/freeze").json()["frozen"] is False
    partner = api.city.partner
    statement = api.call("GET", f"/statements/{partner}", "partner").json()
    assert statement["cash_held_fen"] == 30_000
    page = api.client.get(f"/partner/{partner}").text
    assert 'data-k="cash_held_fen" data-v="30000"' in page
    assert 'data-k="cash_available_fen" data-v="0"' in page
