"""The operator's case pages through an HTTP client with cookies (the browser test in
tests/browser/test_case_pages.py runs the same flow in chromium)."""

from __future__ import annotations

import pytest

from gongsheng.services import rings
from gongsheng.services.ordering import OrderRequest

from .conftest import Api
from .test_party_pages import form, sign_in

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])


def test_admin_works_a_case_in_both_languages(api: Api) -> None:
    city = api.city
    plat = city.platform
    plat.run(rings.register_identifiers, city.merchant, ["card:own"], [])
    order = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 0, "ring-1", None,
                                    "card:own")).order_id
    plat.close_period()  # the close runs the ring detectors
    (case,) = api.call("GET", "/cases").json()["items"]
    sign_in(api, "mia")
    assert api.client.get("/admin/cases").status_code == 403
    sign_in(api, "admin")
    listing = api.client.get("/admin/cases?lang=zh").text
    assert "风险案件" in listing and f'data-case="{case["id"]}"' in listing
    english = api.client.get("/admin/cases?lang=en").text
    assert "Abuse cases" in english
    html, keys = form(api, f"/admin/cases/{case['id']}")
    assert f'data-order="{order}"' in html and f'data-party="{city.merchant}"' in html
    moved = api.client.post(f"/admin/cases/{case['id']}/status",
                            data={**keys, "status": "investigating"}, follow_redirects=False)
    assert moved.status_code == 303
    api.client.post(f"/admin/cases/{case['id']}/notes", data={**keys, "body": "same card"})
    done = api.client.post(f"/admin/cases/{case['id']}/status",
                           data={**keys, "status": "confirmed", "refund": "1", "note": "fake"})
    assert done.status_code == 200 and 'data-status="confirmed"' in done.text
    after = api.call("GET", f"/cases/{case['id']}").json()
    assert after["decided_by"] == "admin" and [n["body"] for n in after["notes"]] == ["same card", "fake"]
    assert api.call("GET", f"/orders/{order}").json()["refunded_fen"] == 10_000
    forged = api.client.post(f"/admin/cases/{case['id']}/notes", data={"csrf": "x", "body": "n"})
    assert forged.status_code in (400, 403)
    dashboard = api.client.get("/admin").text
    assert f'/admin/cases/{case["id"]}' in dashboard
