"""The id of the HTTP request being served, for every log line and problem written while serving it,
and when its serving began (for the answer's ``Server-Timing``).

Invariant: set once per request, at its start, by :class:`~.requests.RequestObserver`; each request
runs in its own task (and its thread-pool calls copy the context), so an id never leaks into
another request. Outside a request it is ``None``.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter

_REQUEST_ID: ContextVar[str | None] = ContextVar("gongsheng_request_id", default=None)

_STARTED: ContextVar[float | None] = ContextVar("gongsheng_request_started", default=None)

HEADER = "X-Request-ID"
TIMING_HEADER = "Server-Timing"


def current_request_id() -> str | None:
    """The id of the request this code runs for, or ``None`` outside one."""
    return _REQUEST_ID.get()


def set_request_id(value: str, started: float | None = None) -> None:
    """Make ``value`` the id of the request being served, begun at ``started`` (``perf_counter``;
    the middleware's job)."""
    _REQUEST_ID.set(value)
    _STARTED.set(started)


def request_started() -> float | None:
    """When the request this code runs for began (``perf_counter``), or ``None`` outside one."""
    return _STARTED.get()


def server_timing(started: float) -> str:
    """``app;dur=<ms>``: the time since ``started``, in milliseconds with one decimal."""
    return f"app;dur={(perf_counter() - started) * 1000:.1f}"
