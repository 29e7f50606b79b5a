"""The HTTP API: :func:`create_app` wires a :class:`Platform` and :class:`Settings` into FastAPI.

Every resource lives under ``/api/v1``; the OpenAPI document is at ``/openapi.json`` and lists,
for every operation, the problem+json responses it may give. :func:`app_from_env` is the
factory ``gongsheng serve`` hands to uvicorn (one platform per worker process). Beside the API:
``/healthz``, ``/readyz`` and ``/metrics`` (:mod:`.observability`), and a request id on every
request, answer and log line.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from gongsheng.entrypoints.api import errors, integration_access, limiter
from gongsheng.entrypoints.api.deps import single_valued_query
from gongsheng.entrypoints.api.observability import health, metrics, workers
from gongsheng.entrypoints.api.observability.requests import RequestObserver
from gongsheng.entrypoints.api.routes import ROUTERS
from gongsheng.entrypoints.api.routes.events import document_event_webhooks
from gongsheng.entrypoints.web import mount_web
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings

API_PREFIX = "/api/v1"
_PROBLEMS = {
    "400": "bad request", "401": "no or bad credentials", "403": "not yours",
    "404": "unknown resource", "409": "conflict with the state of the books",
    "422": "invalid input", "429": "too many requests (see Retry-After)",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with problem+json error responses on every operation."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, webhooks=app.webhooks.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = errors.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, text in _PROBLEMS.items():
                responses[status] = {"description": text,
                                     "content": {errors.MEDIA_TYPE: {"schema": ref}}}
    integration_access.document_keys(ROUTERS, API_PREFIX, schema)  # the gsk_ bearer scheme and scopes
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def create_app(platform: Platform, settings: Settings | None = None) -> FastAPI:
    """The API over ``platform``; the signing key is derived from the one in ``settings`` (see
    :mod:`settings`) and the database's id, so tokens are bound to this database."""
    settings = settings or Settings()
    app = FastAPI(title="gongsheng", version="1", description=(
        "Five-party rebate platform: orders, refunds, wallets, periods, reports. Amounts are "
        "integer fen (*_fen), points integer centi-points (*_cpts), rates decimal strings. "
        "Errors are application/problem+json."))
    app.state.platform = platform
    app.state.settings = settings
    app.state.base_secret = settings.secret(
        str(platform.engine.url.render_as_string(hide_password=False)))
    app.state.token_key = None  # this database's key (tokens, CSRF tokens): app_token_key(app)
    errors.install(app)
    limiter.install(app, limiter.from_settings(settings))
    app.add_middleware(RequestObserver)
    metrics.watch_pool(platform.engine)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(single_valued_query)])
    document_event_webhooks(app)  # every event type under the OpenAPI "webhooks"
    mount_web(app)  # the web pages (login, admin, one page per role) and their static files
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The app for ``GONGSHENG_DB`` (what ``serve`` runs in each uvicorn worker)."""
    settings = Settings()
    workers.forget_dead_workers()  # a restarted worker's predecessor holds live gauges
    return create_app(Platform.open(settings.db), settings)
