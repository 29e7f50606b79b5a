"""The pages where parties act, through an HTTP client with cookies (no browser): each form does
what its API route does, under the same rules; the browser tests (tests/browser) run the flows
end to end in chromium."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gongsheng.adapters import tables as t

from .conftest import PASSWORDS, Api

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


def sign_in(api: Api, username: str) -> None:
    api.client.cookies.clear()
    page = api.client.get("/login").text
    done = api.client.post("/login", data={"username": username, "password": PASSWORDS[username],
                                           "form_token": field(page, "form_token")},
                           follow_redirects=False)
    assert done.status_code == 303, done.text


def form(api: Api, path: str) -> tuple[str, dict[str, str]]:
    html = api.client.get(path).text
    keys = {"csrf": field(html, "csrf")}
    found = re.search(r'name="key" value="([^"]*)"', html)
    if found:
        keys["key"] = found.group(1)
    return html, keys


def orders(api: Api) -> int:
    return int(api.city.platform.read(lambda c: c.execute(select(func.count()).select_from(t.orders))
                                      .scalar_one()))


def test_join_from_referral_and_merchant_link(api: Api) -> None:
    api.client.cookies.clear()
    code = api.call("GET", "/me", "referrer").json()["party"]["referral_code"]
    page = api.client.get(f"/join?ref={code}&m={api.city.home}")
    assert page.status_code == 200 and "Merchant H" in page.text
    data = {"name": "Newcomer", "username": "newcomer", "password": "x", "ref": code,
            "m": str(api.city.home), "form_token": field(page.text, "form_token")}
    refused = api.client.post("/join", data=data)
    assert refused.status_code == 422 and 'value="newcomer"' in refused.text
    done = api.client.post("/join", data={**data, "password": "a-fine-new-password"},
                           follow_redirects=False)
    assert done.status_code == 303, done.text
    party = int(done.headers["location"].rsplit("/", 1)[1])
    profile = api.city.platform.read(lambda c: c.execute(select(t.consumers).where(
        t.consumers.c.party_id == party)).one())
    assert profile.referrer_id == api.city.referrer and profile.home_merchant_id == api.city.home
    assert api.client.get(f"/consumer/{party}").status_code == 200  # signed in at once
    pay = api.client.get(f"/consumer/{party}/pay")
    assert pay.status_code == 200 and "<svg" in pay.text and f">{party}<" in pay.text
    assert f"/join?ref={profile.referral_code}" in pay.text


def test_cashier_double_submit_posts_once_and_refund_from_the_list(api: Api) -> None:
    sign_in(api, "mia")
    merchant = api.city.merchant
    html, keys = form(api, f"/merchant/{merchant}/cashier")
    assert f"/join?m={merchant}" in html and "<svg" in html
    before = orders(api)
    sale = {"amount": "1000", "code": str(api.city.consumer), **keys}
    first = api.client.post(f"/merchant/{merchant}/cashier", data=sale, follow_redirects=False)
    second = api.client.post(f"/merchant/{merchant}/cashier", data=sale, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert orders(api) == before + 1
    receipt = api.client.get(first.headers["location"]).text
    assert 'data-k="concession_fen" data-v="20000"' in receipt  # 20% of 1000 yuan
    assert 'data-k="consumer_cpts" data-v="20000"' in receipt
    assert 'data-k="voucher_fen" data-v="0"' in receipt
    order_id = int(first.headers["location"].rsplit("/", 1)[1])
    listing, keys = form(api, f"/merchant/{merchant}/orders")
    assert f'data-order="{order_id}"' in listing
    key = re.search(rf'orders/{order_id}/refund".*?name="key" value="([^"]*)"', listing, re.S)
    assert key
    done = api.client.post(f"/merchant/{merchant}/orders/{order_id}/refund",
                           data={"amount": "250.00", "key": key.group(1), "csrf": keys["csrf"]},
                           follow_redirects=False)
    assert done.status_code == 303
    api.client.post(f"/merchant/{merchant}/orders/{order_id}/refund",
                    data={"amount": "250.00", "key": key.group(1), "csrf": keys["csrf"]})
    order = api.call("GET", f"/orders/{order_id}", "merchant").json()
    assert order["refunded_fen"] == 25_000  # the repeated form refunded nothing more
    # another merchant can neither ring up here nor see this merchant's orders
    sign_in(api, "hank")
    _, keys = form(api, f"/merchant/{api.city.home}/cashier")
    other = api.client.post(f"/merchant/{merchant}/cashier",
                            data={"amount": "10", "code": str(api.city.consumer), **keys})
    assert other.status_code == 403
    assert api.client.get(f"/merchant/{merchant}/orders").status_code == 403
    assert api.client.get(f"/merchant/{api.city.home}/orders/{order_id}").status_code == 404
    assert orders(api) == before + 1


def test_sign_page_refuses_infeasible_and_admin_approves(api: Api) -> None:
    sign_in(api, "kim")
    _, keys = form(api, "/sign")
    terms = {"name": "Tea House", "category": "catering", "channel": "alliance",
             "region_id": str(api.city.region), "accepts_vouchers": "1", **keys}
    live = api.client.get("/sign/preview", params={**terms, "concession_rate": "3%", "bm_rate": "3%"})
    assert live.json()["ok"] is False and live.json()["error"]
    good = api.client.get("/sign/preview", params={**terms, "concession_rate": "10%", "bm_rate": "1%"})
    assert good.json()["ok"] and good.json()["concession_fen"] == 1_000  # 10% of 100 yuan
    refused = api.client.post("/sign", data={**terms, "concession_rate": "3%", "bm_rate": "3%"})
    assert refused.status_code == 422 and 'value="Tea House"' in refused.text
    done = api.client.post("/sign", data={**terms, "concession_rate": "10%", "bm_rate": "1%"},
                           follow_redirects=False)
    assert done.status_code == 303
    merchant = int(done.headers["location"].split("=")[1])
    sign_in(api, "admin")
    listed, keys = form(api, "/admin/signings")
    assert f'data-merchant="{merchant}"' in listed
    approved = api.client.post(f"/admin/signings/{merchant}/approve", data=keys)
    assert approved.status_code == 201
    link = re.search(r'id="invitation-link">[^<]*(/invite/[A-Za-z0-9_-]+)<', approved.text)
    assert link
    api.client.cookies.clear()
    page = api.client.get(link.group(1))
    assert page.status_code == 200 and "Tea House" in page.text
    made = api.client.post(link.group(1), data={"username": "teahouse", "password": "tea-house-password",
                                                "form_token": field(page.text, "form_token")},
                           follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == f"/merchant/{merchant}"
    assert api.client.get(link.group(1)).status_code == 404  # spent


def test_admin_lists_search_and_page(api: Api) -> None:
    sign_in(api, "admin")
    for path in ("/admin/parties?kind=consumer&q=Consumer", "/admin/partners", "/admin/signings"):
        assert api.client.get(path).status_code == 200, path
    page = api.client.get("/admin/parties?kind=consumer&q=Consumer").text
    assert f'data-party="{api.city.consumer}"' in page and f'data-party="{api.city.merchant}"' not in page
    for who in ("alice", "mia", "kim", "pat"):
        sign_in(api, who)
        assert api.client.get("/admin/parties").status_code == 403
    sign_in(api, "pat")
    team = api.client.get(f"/partner/{api.city.partner}/team")
    assert team.status_code == 200 and "Promoter Q" in team.text and "Merchant M" in team.text


def test_pages_render_for_each_party(api: Api) -> None:
    city = api.city
    for who, paths in {"alice": [f"/consumer/{city.consumer}/pay", f"/consumer/{city.consumer}/store",
                                 "/account/password"],
                       "mia": [f"/merchant/{city.merchant}/store", f"/merchant/{city.merchant}/orders"],
                       "quinn": ["/sign"], "pat": [f"/partner/{city.partner}/team"]}.items():
        sign_in(api, who)
        for path in paths:
            response = api.client.get(path)
            assert response.status_code == 200, (who, path, response.text[-500:])
