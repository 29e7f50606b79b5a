"""What an operator relies on: health, readiness, metrics, request ids and JSON log lines.

Readiness runs on SQLite and PostgreSQL (a migrated database, one whose ``alembic_version`` was
altered, one that cannot be reached); the rest on SQLite. The metrics are the test process's own
(no ``PROMETHEUS_MULTIPROC_DIR``), shared by every app of the process, so tests compare a scrape
before and after what they do.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from gongsheng.adapters.database import head_revisions, make_engine
from gongsheng.entrypoints.api.app import create_app
from gongsheng.entrypoints.api.observability.logs import JsonLines, RequestIdFilter
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings

from .conftest import SECRET, Api, TestClient

sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])
HEX_ID = re.compile(r"[0-9a-f]{32}")
SERVER_TIMING = re.compile(r"app;dur=(\d+\.\d)")


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, by name and sorted labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client_on(open_platform: Callable[..., Platform]) -> Iterator[Callable[[Platform], TestClient]]:
    """``client_on(platform)``: a test client on a new app over ``platform``."""
    clients: list[TestClient] = []

    def make(platform: Platform) -> TestClient:
        client = TestClient(create_app(platform, Settings(secret_key=SECRET)),
                            raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- health and readiness ----------------------------------------------------------------------

def test_healthz_answers_without_the_database(client_on: Callable[[Platform], TestClient],
                                               tmp_path: Any) -> None:
    unreachable = Platform(make_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db"))
    response = client_on(unreachable).get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_when_migrated(api: Api) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "revision": ", ".join(head_revisions())}


def test_readyz_refuses_a_schema_behind_the_head(api: Api) -> None:
    with api.city.platform.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503 and "0004" in body["detail"] and head_revisions()[0] in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_readyz_refuses_an_unmanaged_database(api: Api) -> None:
    with api.city.platform.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    response = api.client.get("/readyz")
    assert response.status_code == 503 and "none" in response.json()["detail"]


def test_readyz_refuses_an_unreachable_database(dialect: str, tmp_path: Any,
                                                client_on: Callable[[Platform], TestClient]) -> None:
    url = (f"sqlite:///{tmp_path}/no/such/folder/x.db" if dialect == "sqlite"
           else "postgresql+psycopg://postgres@127.0.0.1:1/nothing")  # nobody listens on port 1
    platform = Platform(make_engine(url))
    try:
        response = client_on(platform).get("/readyz")
    finally:
        platform.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "the database is unreachable"
    assert response.headers["retry-after"]


# --- request ids -------------------------------------------------------------------------------

@sqlite_only
@pytest.mark.parametrize("sent", ["abc-123", "trace:1.2/x=y+z_9", "a" * 128])
def test_a_sane_client_request_id_is_echoed(api: Api, sent: str) -> None:
    response = api.client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] == sent


@sqlite_only
@pytest.mark.parametrize("sent", ["", "a" * 129, "has space", "semi;colon", "quote\"", "ünï"])
def test_an_insane_client_request_id_is_replaced(api: Api, sent: str) -> None:
    response = api.client.get("/healthz", headers={"X-Request-ID": sent.encode()})
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


@sqlite_only
def test_every_answer_carries_the_servers_time_on_it(api: Api) -> None:
    """``Server-Timing: app;dur=<ms>``: on a success, a problem, an unrouted path and an
    unexpected error, a time no longer than the client measured around the call."""
    def boom() -> None:
        raise RuntimeError("a defect")

    app: Any = api.client.app
    app.add_api_route("/test-boom-timing", boom)
    calls: list[tuple[int, Callable[[], Any]]] = [
        (200, lambda: api.client.get("/healthz")),
        (404, lambda: api.call("GET", "/orders/999999", "admin")),
        (404, lambda: api.client.get("/no/such/page")),
        (500, lambda: api.client.get("/test-boom-timing"))]
    for status, call in calls:
        started = time.perf_counter()
        response = call()
        client_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == status
        found = SERVER_TIMING.fullmatch(response.headers["server-timing"])
        assert found is not None, response.headers["server-timing"]
        assert 0 <= float(found.group(1)) <= client_ms


@sqlite_only
def test_every_request_gets_its_own_id_and_problems_carry_it(api: Api) -> None:
    first, second = api.client.get("/healthz"), api.client.get("/healthz")
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(HEX_ID.fullmatch(i) for i in ids)
    missing = api.call("GET", "/orders/999999", "admin", headers={"X-Request-ID": "support-42"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "support-42"
    assert missing.json()["request_id"] == "support-42"
    unrouted = api.client.get("/no/such/page")
    assert unrouted.json()["request_id"] == unrouted.headers["x-request-id"]


@sqlite_only
def test_an_unexpected_error_still_carries_the_request_id(api: Api) -> None:
    def boom() -> None:
        raise RuntimeError("a defect")

    app: Any = api.client.app
    app.add_api_route("/test-boom", boom)
    response = api.client.get("/test-boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["request_id"] == "boom-1"


# --- JSON log lines ----------------------------------------------------------------------------

@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``gongsheng`` loggers' lines, formatted as ``serve`` formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("gongsheng")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_log_lines_of_a_request_are_json_with_its_id(api: Api, json_log: io.StringIO) -> None:
    with api.city.platform.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = api.client.get("/readyz", headers={"X-Request-ID": "log-me"})
    assert response.status_code == 503
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines, "the refused readiness check logs why"
    for line in lines:
        assert line["request_id"] == "log-me"
        assert line["level"] == "WARNING" and line["logger"] == "gongsheng.api"
        assert "0001" in line["message"] and line["time"].endswith("+00:00")


def test_log_lines_outside_a_request_have_no_id(json_log: io.StringIO) -> None:
    logging.getLogger("gongsheng.test").warning("at start-up, %s", "before any request")
    (line,) = [json.loads(s) for s in json_log.getvalue().splitlines()]
    assert line["request_id"] is None and line["message"] == "at start-up, before any request"


def test_an_access_line_carries_its_fields() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", "/api/v1/orders", "1.1", 201), None)
    RequestIdFilter().filter(record)
    line = json.loads(JsonLines().format(record))
    assert line["message"] == '127.0.0.1:5000 - "POST /api/v1/orders HTTP/1.1" 201'
    assert (line["client"], line["method"], line["path"], line["status"]) == (
        "127.0.0.1:5000", "POST", "/api/v1/orders", 201)


# --- metrics -----------------------------------------------------------------------------------

@sqlite_only
def test_requests_are_counted_by_route_template(api: Api) -> None:
    before = scrape(api.client)
    for party in (api.city.consumer, api.city.referrer, 987_654):
        api.call("GET", f"/wallets/{party}", "admin")
    api.client.get("/no/such/thing/123")
    after = scrape(api.client)
    template = {"method": "GET", "route": "/api/v1/wallets/{party_id}"}
    answered = (sample(after, "gongsheng_http_requests_total", **template, status="200")
                - sample(before, "gongsheng_http_requests_total", **template, status="200"))
    assert answered == 2
    assert (sample(after, "gongsheng_http_requests_total", **template, status="404")
            - sample(before, "gongsheng_http_requests_total", **template, status="404")) == 1
    timed = (sample(after, "gongsheng_http_request_duration_seconds_count", **template)
             - sample(before, "gongsheng_http_request_duration_seconds_count", **template))
    assert timed == 3
    assert (sample(after, "gongsheng_http_requests_total", method="GET", route="unmatched",
                   status="404")
            - sample(before, "gongsheng_http_requests_total", method="GET", route="unmatched",
                     status="404")) == 1
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any(route and re.search(r"/\d+", route) for route in routes), routes


def test_orders_refunds_and_closes_are_counted_once(api: Api) -> None:
    def delta(name: str) -> float:
        return sample(scrape(api.client), name) - sample(before, name)

    before = scrape(api.client)
    body = {"consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
            "amount_fen": 100_000, "voucher_fen": 0}
    placed = api.call("POST", "/orders", "merchant", key="m-1", json=body)
    assert placed.status_code == 201
    assert api.call("POST", "/orders", "merchant", key="m-1", json=body).status_code == 200
    assert delta("gongsheng_orders_total") == 1
    oid = placed.json()["order_id"]
    for status in (201, 200):
        refund = api.call("POST", f"/orders/{oid}/refunds", "merchant", key="mr-1",
                          json={"amount_fen": 10_000})
        assert refund.status_code == status
    assert delta("gongsheng_refunds_total") == 1
    closed = api.call("POST", "/periods/close", key="mc-1", json={"period": 1})
    again = api.call("POST", "/periods/close", key="mc-1", json={"period": 1})
    assert closed.status_code == again.status_code == 200
    assert delta("gongsheng_period_closes_total") == 1
    assert delta("gongsheng_released_fen_total") == closed.json()["released_fen"]


@sqlite_only
def test_pool_gauge_follows_checked_out_connections(api: Api) -> None:
    gauge = "gongsheng_db_pool_checked_out"
    idle = sample(scrape(api.client), gauge)
    with api.city.platform.engine.connect():
        assert sample(scrape(api.client), gauge) == idle + 1
    assert sample(scrape(api.client), gauge) == idle
    assert sample(scrape(api.client), "gongsheng_db_pool_size") >= 1
