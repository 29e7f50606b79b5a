"""Cases and order identifiers over HTTP: admin only, strict bodies, problem+json refusals."""

from __future__ import annotations

import pytest

from .conftest import Api
from .test_api import problem

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])


def _order(api: Api, key: str, **extra: object) -> object:
    body = {"consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
            "amount_fen": 10_000, **extra}
    return api.call("POST", "/orders", "merchant", key=key, json=body)


def test_order_identifiers_are_strict_strings(api: Api) -> None:
    for bad in (123, "", "has space", "x" * 129, True):
        problem(_order(api, f"bad-{bad!r}"[:60], payment_ref=bad), 422)
    problem(_order(api, "bad-device", device_id=["a"]), 422)
    assert _order(api, "good", payment_ref="sha256:abc", device_id="dev-1").status_code == 201
    replay = _order(api, "good", payment_ref="sha256:abc", device_id="dev-1")
    assert replay.status_code == 200
    problem(_order(api, "good", payment_ref="sha256:other", device_id="dev-1"), 409)


def test_a_ring_case_through_the_api(api: Api) -> None:
    merchant = api.city.merchant
    problem(api.call("POST", f"/parties/{merchant}/identifiers", "merchant",
                     json={"payment_refs": ["card-own"]}), 403)
    added = api.call("POST", f"/parties/{merchant}/identifiers", json={"payment_refs": ["card-own"]})
    assert added.status_code == 200 and added.json()["added"] == 1
    assert _order(api, "ring-1", payment_ref="card-own").status_code == 201
    assert api.call("GET", "/cases").json()["items"] == []  # the close runs the ring detectors
    assert api.call("POST", "/periods/close", key="close-1", json={"period": 1}).status_code == 200
    listed = api.call("GET", "/cases")
    assert listed.status_code == 200
    (case,) = listed.json()["items"]
    assert case["status"] == "open" and case["detector"] == "wash_trading"
    problem(api.call("GET", "/cases", "consumer"), 403)
    problem(api.call("GET", f"/cases/{case['id']}", "merchant"), 403)
    problem(api.call("GET", "/cases/999999"), 404)
    risk = api.call("GET", "/risk").json()
    assert any(f["case_id"] == case["id"] for f in risk["flags"])
    noted = api.call("POST", f"/cases/{case['id']}/notes", key="n1", json={"body": "checking"})
    assert noted.status_code == 201
    again = api.call("POST", f"/cases/{case['id']}/notes", key="n1", json={"body": "checking"})
    assert len(again.json()["notes"]) == 1
    moved = api.call("POST", f"/cases/{case['id']}/transitions", json={"status": "investigating"})
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"
    done = api.call("POST", f"/cases/{case['id']}/transitions",
                    json={"status": "dismissed", "note": "known relative"})
    assert done.json()["decided_by"] == "admin"
    problem(api.call("POST", f"/cases/{case['id']}/transitions", json={"status": "confirmed"}), 409)
    problem(api.call("POST", f"/cases/{case['id']}/transitions", json={"status": "closed"}), 422)
    assert api.call("GET", "/cases?status=dismissed").json()["items"][0]["id"] == case["id"]


def test_open_a_case_by_hand(api: Api) -> None:
    body = {"summary": "odd refunds", "party_ids": [api.city.consumer]}
    first = api.call("POST", "/cases", key="c1", json=body)
    assert first.status_code == 201 and first.json()["opened_by"] == "admin"
    assert api.call("POST", "/cases", key="c1", json=body).json()["id"] == first.json()["id"]
    problem(api.call("POST", "/cases", key="c1", json={**body, "summary": "other"}), 409)
    problem(api.call("POST", "/cases", key="c2", json={"summary": "x", "party_ids": [99999]}), 404)
    problem(api.call("POST", "/cases", key="c3", json={"summary": "x", "party_ids": ["1"]}), 422)


def test_velocity_refusal_is_problem_json(api: Api) -> None:
    from gongsheng.adapters.policy_file import default_policy_text

    text = default_policy_text().replace("[risk]\n", "[risk]\nmax_orders_per_period = 1\n", 1)
    uploaded = api.call("POST", "/policy/versions", json={"toml": text})
    assert uploaded.status_code == 201, uploaded.text
    assert api.call("POST", "/periods/close", key="c1", json={"period": 1}).status_code == 200
    assert _order(api, "v1").status_code == 201
    refused = problem(_order(api, "v2"), 409)
    assert refused["title"] == "Velocity cap exceeded" and "max_orders_per_period" in refused["detail"]
    assert api.call("GET", "/orders").json()["items"][0]["order_id"] == _order(api, "v1").json()["order_id"]
