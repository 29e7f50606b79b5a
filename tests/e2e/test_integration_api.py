"""The integration resources over HTTP: the event feed, the OpenAPI webhooks, order quotes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.domain.events import EVENT_TYPES

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])


def test_the_feed_over_http_resumes_from_its_cursor(api: Any) -> None:
    first = api.call("GET", "/events", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"] == first["items"][-1]["cursor"]
    rest = api.call("GET", "/events", params={"after": first["next_cursor"], "limit": 100}).json()
    every = api.call("GET", "/events", params={"limit": 1000}).json()["items"]
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in every]
    order = api.call("POST", "/orders", key="o-feed", json={
        "consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
        "amount_fen": 50_000}).json()
    new = api.call("GET", "/events", params={"after": rest["next_cursor"],
                                             "types": "order.placed,order.refunded"}).json()
    assert [(e["type"], e["data"]["order_id"]) for e in new["items"]] == [
        ("order.placed", order["order_id"])]


def test_the_feed_is_for_administrators_and_refuses_bad_input(api: Any) -> None:
    assert api.call("GET", "/events", who=None).status_code == 401
    assert api.call("GET", "/events", who="merchant").status_code == 403
    for params in ({"after": "nope"}, {"types": "order.exploded"}, {"limit": 0}):
        answer = api.call("GET", "/events", params=params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_openapi_document_lists_every_event_type_as_a_webhook(api: Any) -> None:
    doc = api.client.get("/openapi.json").json()
    assert set(doc["webhooks"]) == set(EVENT_TYPES)
    schemas = doc["components"]["schemas"]
    ref = doc["webhooks"]["order.placed"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["$ref"]
    envelope = schemas[ref.rsplit("/", 1)[1]]
    assert set(envelope["required"]) >= {"id", "type", "version", "period", "timestamp", "data"}
    data = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert {"order_id", "amount_fen", "concession_fen", "allocations"} <= set(data["properties"])
    assert "period" not in data["properties"]


def test_webhook_subscriptions_over_http(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:9/hooks"
    refused = api.call("POST", "/webhooks", json={"url": url, "events": ["order.placed"]})
    assert refused.status_code == 422 and "private or loopback" in refused.json()["detail"]
    api.client.app.state.settings = api.client.app.state.settings.model_copy(
        update={"webhooks_allow_private": True})
    for bad in ({"url": url, "events": ["order.exploded"]}, {"url": url, "events": []},
                {"url": url, "events": ["order.placed"], "extra": 1}, {"url": 5, "events": []}):
        assert api.call("POST", "/webhooks", json=bad).status_code == 422, bad
    assert api.call("POST", "/webhooks", who="merchant",
                    json={"url": url, "events": ["order.placed"]}).status_code == 403
    made = api.call("POST", "/webhooks", json={"url": url, "events": ["order.placed"]})
    assert made.status_code == 201
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and sub["events"] == ["order.placed"]
    listed = api.call("GET", "/webhooks").json()["items"]
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
    rotated = api.call("POST", f"/webhooks/{sub['id']}/secret").json()
    assert rotated["secret"] != sub["secret"] and rotated["previous_secret_valid_until"]
    assert api.call("GET", f"/webhooks/{sub['id']}/deliveries").json() == {"items": []}
    assert api.call("GET", f"/webhooks/{sub['id']}/deliveries?offset=50").json() == {"items": []}
    assert api.call("POST", f"/webhooks/{sub['id']}/deliveries/99/retry").status_code == 404
    assert api.call("DELETE", f"/webhooks/{sub['id']}").status_code == 204
    assert api.call("DELETE", f"/webhooks/{sub['id']}").status_code == 404
    assert api.call("GET", "/webhooks").json() == {"items": []}


def test_a_quote_over_http_takes_strict_integers_and_writes_nothing(api: Any) -> None:
    body = {"consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
            "amount_fen": 100_000}
    def count() -> int:
        return int(api.city.platform.read(
            lambda c: c.execute(select(func.count()).select_from(t.orders)).scalar()))

    before = count()
    answer = api.call("POST", "/orders/quote", who="merchant", json=body)
    assert answer.status_code == 200, answer.text
    quoted = answer.json()
    assert quoted["concession_fen"] == 20_000 and quoted["first_order"] is True
    # the merchant sees the amounts but no other party's id: not who referred the consumer,
    # not its home merchant, BM or partner; an admin sees them all
    assert quoted["referrer_id"] is None
    assert {a["party_id"] for a in quoted["allocations"]} <= {None, api.city.merchant}
    full = api.call("POST", "/orders/quote", json=body).json()
    assert full["referrer_id"] == api.city.referrer
    assert {a["party_id"] for a in full["allocations"]} - {None, api.city.merchant}
    assert [a["amount_fen"] for a in full["allocations"]] == [a["amount_fen"] for a in quoted["allocations"]]
    assert count() == before
    placed = api.call("POST", "/orders", who="merchant", key="q-1", json=body).json()
    assert {k: placed[k] for k in ("concession_fen", "pool_fen", "consumer_cpts", "referrer_cpts")} \
        == {k: quoted[k] for k in ("concession_fen", "pool_fen", "consumer_cpts", "referrer_cpts")}
    for bad in ("100000", 100000.0, True):
        answer = api.call("POST", "/orders/quote", json={**body, "amount_fen": bad})
        assert answer.status_code == 422, bad
    assert api.call("POST", "/orders/quote", json={**body, "consumer_id": "8"}).status_code == 422
    assert api.call("POST", "/orders/quote", who="consumer", json=body).status_code == 403
    assert api.call("POST", "/orders/quote", who="home", json=body).status_code == 403

