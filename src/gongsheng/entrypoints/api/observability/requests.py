"""The request middleware: an id for every HTTP request, echoed, and its duration by route template.

A client's ``X-Request-ID`` is kept when it is sane (1 to 128 characters of ``A-Z a-z 0-9 . _ :
= + / -``), so one id can follow a call through a proxy and into these logs; anything else is
replaced by a new random id (32 hex digits). The id is answered in ``X-Request-ID``, carried by
every log line written while the request is served (:mod:`.context`, :mod:`.logs`) and by its
problem+json body.

Every answer also carries ``Server-Timing: app;dur=<ms>`` (W3C Server Timing): the server's own
time on the request, from this middleware's entry to the answer's first byte (the handler, its
database reads and the body's rendering, which precede the answer's start), in milliseconds with
one decimal (a 500 of an unexpected error, answered outside every middleware, carries it from its
problem handler). It is what the latency histogram records, less the body's sending; a browser's
developer tools show it, and ``benchmarks/seed_scale.py`` reports it beside the client's own
measure, which adds the in-process test client's thread hand-offs.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: it wraps ``send`` and nothing else, so
the order path pays a few microseconds for it, with no extra task or stream per request.
"""

from __future__ import annotations

import os
import re
from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gongsheng.entrypoints.api.observability import metrics
from gongsheng.entrypoints.api.observability.context import (
    HEADER,
    TIMING_HEADER,
    server_timing,
    set_request_id,
)

_HEADER_KEY = HEADER.lower().encode("latin-1")
_TIMING_KEY = TIMING_HEADER.lower().encode("latin-1")
_SANE = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")


def client_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's ``X-Request-ID`` if it is sane, else ``None``."""
    for name, value in headers:
        if name == _HEADER_KEY:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None


def new_request_id() -> str:
    """A fresh request id: 128 random bits as 32 hex digits."""
    return os.urandom(16).hex()


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (``/api/v1/orders/{order_id}``).

    A route included under a prefix knows only its own template (``/orders/{order_id}``); the
    prefix is what the path holds before the part that template matched (the route's template
    filled with the request's path parameters). A request no route took is ``unmatched``.
    """
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return metrics.UNMATCHED
    params = scope.get("path_params")
    try:
        matched = template.format(**params) if params else template
    except (KeyError, IndexError, ValueError):
        return template
    path: str = scope["path"]
    if matched and path.endswith(matched):
        return path[: len(path) - len(matched)] + template
    return template


class RequestObserver:
    """Gives each HTTP request its id (echoed in the answer), answers the server's time on it
    (``Server-Timing``) and records its duration and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = client_request_id(scope["headers"]) or new_request_id()
        started = perf_counter()
        set_request_id(request_id, started)
        echoed = (_HEADER_KEY, request_id.encode("ascii"))
        status = 500  # an exception before the answer starts becomes a 500 outside this middleware

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                took = server_timing(started).encode("ascii")
                message["headers"] = [*message.get("headers", ()), echoed, (_TIMING_KEY, took)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.observe_request(scope["method"], route_template(scope), status,
                                    perf_counter() - started)
