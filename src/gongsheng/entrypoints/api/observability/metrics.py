"""The Prometheus metrics of the API process and their exposition (``GET /metrics``).

- ``gongsheng_http_requests_total{method, route, status}`` and
  ``gongsheng_http_request_duration_seconds{method, route}`` (a histogram): every HTTP request,
  labelled by its **route template** (``/api/v1/wallets/{party_id}``), never by its raw path, so
  the number of series stays bounded; a request no route matched is ``route="unmatched"``;
- ``gongsheng_orders_total``, ``gongsheng_refunds_total``, ``gongsheng_period_closes_total`` and
  ``gongsheng_released_fen_total``: use cases this server completed (a replayed
  ``Idempotency-Key`` or an already closed period is not counted again);
- ``gongsheng_db_pool_checked_out`` and ``gongsheng_db_pool_size``: the SQLAlchemy pool's
  connections in use and its configured size, summed over the live workers.

Under ``gongsheng serve`` the metrics live in prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, see :mod:`.workers`): each worker writes its values to memory-mapped
files in one directory and a scrape, whichever worker answers it, adds up all of them. Without
that variable (tests, another ASGI server) the metrics are the process's own, with the client's
process and garbage-collector metrics beside them.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from gongsheng.entrypoints.api.observability.workers import MULTIPROC_ENV

MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))
"""Whether this process writes its metrics to the shared directory (decided when it starts)."""

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# an order takes ~2-15 ms; a period close or a report may take seconds
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("gongsheng_http_requests", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("gongsheng_http_request_duration_seconds",
                    "Time from a request's arrival to the end of its response, by route template",
                    ["method", "route"], buckets=_BUCKETS)
ORDERS = Counter("gongsheng_orders", "Orders placed (replays of an Idempotency-Key not counted)")
REFUNDS = Counter("gongsheng_refunds", "Refunds made (replays of an Idempotency-Key not counted)")
PERIOD_CLOSES = Counter("gongsheng_period_closes", "Periods closed, each with its release")
RELEASED_FEN = Counter("gongsheng_released_fen", "Vouchers released by period closes, in fen")
POOL_CHECKED_OUT = Gauge("gongsheng_db_pool_checked_out",
                         "Database connections checked out of the pool", multiprocess_mode="livesum")
POOL_SIZE = Gauge("gongsheng_db_pool_size", "Configured size of the database connection pool "
                  "(connections kept open; overflow comes on top)", multiprocess_mode="livesum")

_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (label children are looked up once)."""
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        shown = method if method in _METHODS else "other"
        children = (REQUESTS.labels(shown, route, str(status)), LATENCY.labels(shown, route))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def count_written(counter: Counter, *, replayed: bool) -> None:
    """Count a completed use case unless it was the replay of an earlier one."""
    if not replayed:
        counter.inc()


def count_close(released_fen: int, *, already_closed: bool) -> None:
    """Count a period close and what it released (a summary of a closed period is not a close)."""
    if not already_closed:
        PERIOD_CLOSES.inc()
        RELEASED_FEN.inc(released_fen)


def _checked_out(*_: Any) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_: Any) -> None:
    POOL_CHECKED_OUT.dec()


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges of ``engine`` current (once per engine, however often it is called)."""
    if event.contains(engine, "checkout", _checked_out):
        return
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.set(size())
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: all workers' under ``serve``, else this process's."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
