"""RFC 9457 problem details for every error the API returns (``application/problem+json``).

- the engine's errors (:mod:`gongsheng.domain.errors`) keep their status, title and detail;
- request validation errors are 422 with a readable ``detail`` and the field ``errors``;
- unknown routes and methods (404, 405) and every other HTTP error become problems too;
- database errors a client can cause (a value out of range, a constraint) are 422 / 409, a busy
  database 503; anything else is logged and answered by a 500 problem without internals.

Every problem carries the ``request_id`` of the request it answers (also in ``X-Request-ID``),
so a client can quote it and an operator find the request's log lines.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.status import HTTP_500_INTERNAL_SERVER_ERROR

from gongsheng.domain.errors import GongshengError
from gongsheng.entrypoints.api.observability.context import (
    HEADER,
    TIMING_HEADER,
    current_request_id,
    request_started,
    server_timing,
)

log = logging.getLogger("gongsheng.api")
MEDIA_TYPE = "application/problem+json"
_STATUS_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
                  413: "Request too large", 415: "Unsupported media type",
                  422: "Invalid input", 500: "Internal error", 503: "Service unavailable"}


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for a person and for a program."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    request_id: str | None = None


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "error"


def problem(status: int, title: str, detail: str, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": f"urn:gongsheng:problem:{_slug(title)}", "title": title,
                            "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def _engine_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GongshengError)
    if exc.status >= 500:
        log.error("invariant violated: %s", exc.detail)
        return problem(exc.status, exc.title, "the books refused the operation: " + exc.detail)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(exc.status, exc.title, exc.detail, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    return ".".join(parts)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    shown = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return problem(422, "Invalid input", f"the request is not valid: {shown}{more}", errors=errors)


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    title = _STATUS_TITLES.get(status, "Error")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
    if status == 404 and detail == "Not Found":
        detail = "there is no such resource; the API lives under /api/v1 (see /openapi.json)"
    elif status == 405:
        detail = "this resource does not accept that method"
    return problem(status, title, detail, headers=dict(exc.headers or {}) or None)


def _database_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, IntegrityError):
        return problem(409, "Conflict", "the request clashes with the stored data "
                                        "(a value that must be unique or must exist)")
    if isinstance(exc, DataError):
        return problem(422, "Invalid input", "a value of the request is out of range for storage")
    log.warning("database unavailable: %s", exc)
    return problem(503, "Service unavailable", "the database is busy or unreachable; retry",
                   headers={"Retry-After": "1"})


def _overflow(_: Request, exc: Exception) -> JSONResponse:
    return problem(422, "Invalid input", "a value of the request is out of range")


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    # Starlette answers this one outside every middleware: the id and the timing are given here
    request_id, started = current_request_id(), request_started()
    headers = {**({HEADER: request_id} if request_id else {}),
               **({TIMING_HEADER: server_timing(started)} if started is not None else {})}
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error",
                   "something went wrong on our side; the operation was not applied",
                   headers=headers or None)


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(GongshengError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in (IntegrityError, DataError, OperationalError):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(OverflowError, _overflow)  # an integer too large for the driver
    app.add_exception_handler(Exception, _unexpected)
