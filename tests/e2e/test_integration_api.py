"""The integration resources over HTTP: the event feed, the OpenAPI webhooks, order quotes."""

from __future__ import annotations

from typing import Any

import pytest

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
