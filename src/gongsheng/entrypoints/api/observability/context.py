"""The id of the HTTP request being served, for every log line and problem written while serving it.

Invariant: set once per request, at its start, by :class:`~.requests.RequestObserver`; each request
runs in its own task (and its thread-pool calls copy the context), so an id never leaks into
another request. Outside a request it is ``None``.
"""

from __future__ import annotations

from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("gongsheng_request_id", default=None)

HEADER = "X-Request-ID"


def current_request_id() -> str | None:
    """The id of the request this code runs for, or ``None`` outside one."""
    return _REQUEST_ID.get()


def set_request_id(value: str) -> None:
    """Make ``value`` the id of the request being served (the middleware's job)."""
    _REQUEST_ID.set(value)
