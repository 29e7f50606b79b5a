"""Integration keys over HTTP: issuing, scopes and parties on every route, revocation, expiry,
rate limits, and a secret that is shown once and never stored in clear.

The walk over the route table runs on one SQLite app made once for the module (the checks are
in the entry points, the same on both databases); everything that reads or writes key rows runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from conftest import build_city  # tests/conftest.py
from gongsheng.adapters import tables as t
from gongsheng.domain.api_keys import MERCHANT_ONLY, PLATFORM_ONLY, Scope
from gongsheng.entrypoints.api import deps
from gongsheng.entrypoints.api.integration_access import route_scope
from gongsheng.entrypoints.api.routes import ROUTERS
from gongsheng.services import api_keys
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings

from .conftest import SECRET, Api, make_api
from .test_api import problem

ALL = [s.value for s in Scope]
PARTY_SCOPES = [s.value for s in Scope if s not in PLATFORM_ONLY]


def issue(api: Api, scopes: list[str], party: int | None = None, **extra: Any) -> str:
    """A key's secret, issued over the API by the admin."""
    body: dict[str, Any] = {"label": "test key", "scopes": scopes, **extra}
    if party is not None:
        body["party_id"] = party
    made = api.call("POST", "/api-keys", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def with_key(secret: str, idempotency: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {secret}"}
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    return headers


def send(api: Api, method: str, path: str, secret: str, **kwargs: Any) -> Any:
    return api.call(method, path, who=None, headers=with_key(secret, kwargs.pop("key", None)), **kwargs)


# --- the route table ---------------------------------------------------------------------------

def _calls(route: APIRoute) -> set[Any]:
    found, stack = set(), [route.dependant]
    while stack:
        current = stack.pop()
        found.add(current.call)
        stack.extend(current.dependencies)
    return found


ROUTES = [(method, route.path, route) for router in ROUTERS for route in router.routes
          if isinstance(route, APIRoute) for method in sorted(route.methods)]
SCOPED = [pytest.param(m, p, *route_scope(r), id=f"{m} {p}")  # type: ignore[misc]
          for m, p, r in ROUTES if route_scope(r) is not None]
PERSONS_ONLY = [pytest.param(m, p, id=f"{m} {p}") for m, p, r in ROUTES if route_scope(r) is None
                and _calls(r) & {deps.current_user, deps.optional_user}]


def test_the_route_table_is_covered() -> None:
    """Every route either needs a scope, refuses keys, or takes no credentials at all (and the
    ones a key may call are the integration routes the contract names)."""
    assert len(SCOPED) >= 15 and len(PERSONS_ONLY) >= 30
    scoped_paths = {p.values[1] for p in SCOPED}
    assert {"/orders", "/orders/quote", "/orders/{order_id}/refunds", "/wallets/{party_id}",
            "/events", "/webhooks", "/reports/kpis", "/ledger/trial-balance"} <= scoped_paths
    assert not any(p.startswith("/api-keys") for p in scoped_paths)  # keys never manage keys


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def table_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app over the city on SQLite for the whole walk over the route table."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('keys')) / 'keys.db'}"
    platform = Platform.open(url)
    try:
        yield from make_api(build_city(platform))
    finally:
        platform.engine.dispose()


@pytest.fixture(scope="module")
def keys(table_api: Api) -> dict[str, str]:
    """Keys on the module's app: per scope, a platform key and a merchant key with every other
    scope; a platform key and a merchant key with every scope they may hold."""
    city = table_api.city
    made = {"platform:all": issue(table_api, ALL),
            "merchant:all": issue(table_api, PARTY_SCOPES, city.merchant)}
    for scope in Scope:
        made[f"platform:-{scope.value}"] = issue(table_api, [s for s in ALL if s != scope.value])
        others = [s for s in PARTY_SCOPES if s != scope.value]
        made[f"merchant:-{scope.value}"] = issue(table_api, others, city.merchant)
    return made


@pytest.mark.parametrize(("method", "path", "scope", "platform_only"), SCOPED)
def test_every_scoped_route_refuses_a_key_without_its_scope(
        table_api: Api, keys: dict[str, str], method: str, path: str, scope: Scope,
        platform_only: bool) -> None:
    for holder in ("platform", "merchant"):
        refused = problem(send(table_api, method, _concrete(path), keys[f"{holder}:-{scope.value}"],
                               json={}), 403)
        assert scope.value in refused["detail"] or (holder == "merchant" and platform_only)
    # with the scope, the route lets the key through its door (whatever the body then gets)
    admitted = send(table_api, method, _concrete(path), keys["platform:all"], json={})
    assert admitted.status_code not in (401, 403), admitted.text
    if platform_only:  # a party key is refused even with every scope it may hold
        problem(send(table_api, method, _concrete(path), keys["merchant:all"], json={}), 403)


@pytest.mark.parametrize(("method", "path"), PERSONS_ONLY)
def test_every_other_route_refuses_keys(table_api: Api, keys: dict[str, str], method: str,
                                        path: str) -> None:
    for holder in ("platform:all", "merchant:all"):
        body = problem(send(table_api, method, _concrete(path), keys[holder], json={}), 403)
        assert "API keys cannot call this route" in body["detail"]


def test_the_openapi_document_describes_the_key_scheme_and_scopes(table_api: Api) -> None:
    doc = table_api.client.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["IntegrationKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    placed = doc["paths"]["/api/v1/orders"]["post"]
    assert placed["x-required-scope"] == "orders:write"
    assert {"IntegrationKey": ["orders:write"]} in placed["security"]
    assert doc["paths"]["/api/v1/events"]["get"]["x-platform-key-only"] is True
    assert "x-required-scope" not in doc["paths"]["/api/v1/periods/close"]["post"]


# --- parties: a merchant's key acts at that merchant only -------------------------------------

def _order(api: Api, merchant: int) -> dict[str, Any]:
    return {"consumer_id": api.city.consumer, "merchant_id": merchant, "amount_fen": 20_000}


def test_a_merchant_key_acts_at_its_merchant_only(api: Api) -> None:
    city = api.city
    pos = issue(api, ["orders:write", "refunds:write", "reports:read", "wallets:read"], city.merchant)
    mine = send(api, "POST", "/orders", pos, key="pos-1", json=_order(api, city.merchant))
    assert mine.status_code == 201, mine.text
    elsewhere = api.call("POST", "/orders", key="adm-1", json=_order(api, city.home)).json()
    problem(send(api, "POST", "/orders", pos, key="pos-2", json=_order(api, city.home)), 403)
    problem(send(api, "POST", "/orders/quote", pos, json=_order(api, city.home)), 403)
    assert send(api, "POST", "/orders/quote", pos, json=_order(api, city.merchant)).status_code == 200
    # another merchant's order is answered as one that does not exist
    problem(send(api, "POST", f"/orders/{elsewhere['order_id']}/refunds", pos, key="r-1",
                 json={"amount_fen": 1_000}), 404)
    problem(send(api, "GET", f"/orders/{elsewhere['order_id']}", pos), 404)
    problem(send(api, "GET", f"/wallets/{city.home}", pos), 403)
    problem(send(api, "GET", f"/statements/{city.home}", pos), 403)
    listed = send(api, "GET", "/orders", pos).json()["items"]
    assert [o["order_id"] for o in listed] == [mine.json()["order_id"]]
    refunded = send(api, "POST", f"/orders/{mine.json()['order_id']}/refunds", pos, key="r-2",
                    json={"amount_fen": 1_000})
    assert refunded.status_code == 201, refunded.text
    assert send(api, "GET", f"/wallets/{city.merchant}", pos).status_code == 200
    # the operator's reports and the feed are the platform's
    problem(send(api, "GET", "/reports/kpis", pos), 403)
    problem(send(api, "GET", "/events", pos), 403)


def test_a_gateway_key_orders_anywhere_and_a_reporting_key_only_reads(api: Api) -> None:
    city = api.city
    gateway = issue(api, ["orders:write"])
    for i, merchant in enumerate((city.merchant, city.home)):
        placed = send(api, "POST", "/orders", gateway, key=f"gw-{i}", json=_order(api, merchant))
        assert placed.status_code == 201, placed.text
    problem(send(api, "GET", "/orders", gateway), 403)
    reporting = issue(api, ["reports:read"])
    assert send(api, "GET", "/reports/kpis", reporting).status_code == 200
    assert send(api, "GET", "/ledger/trial-balance", reporting).status_code == 200
    assert len(send(api, "GET", "/orders", reporting).json()["items"]) == 2
    problem(send(api, "POST", "/orders", reporting, key="rep-1", json=_order(api, city.home)), 403)
    problem(send(api, "GET", f"/wallets/{city.consumer}", reporting), 403)


# --- issuing: admin only, checked input, the secret shown once --------------------------------

def test_issuing_is_for_administrators_and_checks_its_input(api: Api) -> None:
    city = api.city
    body = {"label": "till", "scopes": ["orders:write"], "party_id": city.merchant}
    problem(api.call("POST", "/api-keys", "merchant", json=body), 403)
    problem(api.call("GET", "/api-keys", "merchant"), 403)
    problem(api.call("POST", "/api-keys", None, json=body), 401)
    soon = "2020-01-01T00:00:00Z"
    for bad, status in [({**body, "scopes": ["orders:delete"]}, 422), ({**body, "scopes": []}, 422),
                        ({**body, "scopes": ["events:read"]}, 422),
                        ({**body, "party_id": city.consumer}, 422),
                        ({**body, "party_id": 10**9}, 404), ({**body, "party_id": "3"}, 422),
                        ({**body, "expires_at": soon}, 422),
                        ({**body, "expires_at": "2999-01-01T00:00:00"}, 422),  # no time zone
                        ({**body, "rate_limit": "lots"}, 422), ({**body, "label": ""}, 422),
                        ({**body, "extra": 1}, 422)]:
        problem(api.call("POST", "/api-keys", json=bad), status)
    assert api.call("GET", "/api-keys").json() == {"items": []}


def test_the_secret_is_shown_once_and_stored_only_as_a_digest(api: Api) -> None:
    made = api.call("POST", "/api-keys", json={
        "label": "gateway", "scopes": ["orders:write", "reports:read"],
        "expires_at": "2999-01-01T00:00:00+08:00", "rate_limit": "100/second"}).json()
    secret = made["secret"]
    assert secret.startswith("gsk_") and made["prefix"] in secret and made["status"] == "active"
    assert made["expires_at"] == "2998-12-31T16:00:00Z" and made["party_id"] is None
    listed = api.call("GET", "/api-keys")
    private = secret.removeprefix(made["prefix"] + "_")
    assert len(private) >= 32
    assert secret not in listed.text and private not in listed.text
    assert [k["id"] for k in listed.json()["items"]] == [made["id"]]
    assert "secret" not in listed.json()["items"][0]
    with api.city.platform.engine.connect() as conn:
        row = conn.execute(select(t.api_keys)).one()
    assert all(secret not in str(v) and private not in str(v) for v in row)
    assert row.secret_digest == hashlib.sha256(secret.encode()).hexdigest()


# --- revoked and expired: refused at once ------------------------------------------------------

def test_a_revoked_key_is_refused_at_its_next_request(api: Api) -> None:
    secret = issue(api, ["reports:read"])
    key_id = api.call("GET", "/api-keys").json()["items"][0]["id"]
    assert send(api, "GET", "/reports/kpis", secret).status_code == 200
    assert api.call("DELETE", f"/api-keys/{key_id}").status_code == 204
    refused = problem(send(api, "GET", "/reports/kpis", secret), 401)
    assert "revoked" in refused["detail"]
    assert api.call("DELETE", f"/api-keys/{key_id}").status_code == 204  # again: no change
    problem(api.call("DELETE", "/api-keys/999"), 404)
    listed = api.call("GET", "/api-keys").json()["items"]
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"]
    assert api.call("GET", "/api-keys", params={"revoked": "false"}).json() == {"items": []}


def test_an_expired_key_and_a_forged_one_are_refused(api: Api) -> None:
    platform: Platform = api.city.platform
    now = int(time.time() * 1000)
    issued = platform.run(api_keys.issue_key, "short-lived", ["reports:read"], now_ms=now - 10_000,
                          expires_ms=now - 5_000)
    assert "expired" in problem(send(api, "GET", "/reports/kpis", issued.secret), 401)["detail"]
    live = issue(api, ["reports:read"])
    forged = live[:-4] + ("AAAA" if not live.endswith("AAAA") else "BBBB")
    for bad in (forged, "gsk_nothing", "gsk_" + "0" * 12 + "_" + "x" * 43):
        assert problem(send(api, "GET", "/reports/kpis", bad), 401)["detail"] == api_keys.REFUSED
    assert send(api, "GET", "/reports/kpis", live).status_code == 200


# --- rate limits -------------------------------------------------------------------------------

def test_a_key_over_its_rate_limit_gets_429_with_retry_after(city: Any) -> None:
    for api in make_api(city, Settings(secret_key=SECRET, api_key_rate_limit="3/minute")):
        busy, other = issue(api, ["reports:read"]), issue(api, ["reports:read"])
        own = issue(api, ["reports:read"], rate_limit="5/minute")
        for _ in range(3):
            assert send(api, "GET", "/reports/kpis", busy).status_code == 200
        refused = send(api, "GET", "/reports/kpis", busy)
        body = problem(refused, 429)
        assert "requests per API key" in body["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert send(api, "GET", "/reports/kpis", other).status_code == 200  # counted per key
        assert [send(api, "GET", "/reports/kpis", own).status_code for _ in range(6)] == [200] * 5 + [429]
        # persons are not counted against keys
        assert api.call("GET", "/reports/kpis").status_code == 200


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_scopes_of_each_binding(api: Api) -> None:
    """What the domain allows matches what issuing does (one example per rule)."""
    city = api.city
    for scope in MERCHANT_ONLY:
        problem(api.call("POST", "/api-keys", json={"label": "x", "scopes": [scope.value],
                                                    "party_id": city.partner}), 422)
    assert issue(api, ["wallets:read", "reports:read"], city.partner).startswith("gsk_")


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_a_disabled_account_is_refused_on_the_scoped_routes_too(api: Api) -> None:
    """The routes open to keys still check a person's session on every request."""
    city = api.city
    assert api.call("POST", "/orders", "merchant", key="m-1",
                    json=_order(api, city.merchant)).status_code == 201
    assert api.call("POST", "/accounts/mia/disable").status_code == 200
    problem(api.call("POST", "/orders", "merchant", key="m-2", json=_order(api, city.merchant)), 401)
    problem(api.call("GET", f"/wallets/{city.merchant}", "merchant"), 401)
    # the merchant's keys do not hang on its login
    pos = issue(api, ["orders:write"], city.merchant)
    assert send(api, "POST", "/orders", pos, key="m-3", json=_order(api, city.merchant)).status_code == 201
