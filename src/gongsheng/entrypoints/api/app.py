"""The HTTP API: :func:`create_app` wires a :class:`Platform` and :class:`Settings` into FastAPI.

Every resource lives under ``/api/v1``; the OpenAPI document is at ``/openapi.json`` and lists,
for every operation, the problem+json responses it may give. :func:`app_from_env` is the
factory ``gongsheng serve`` hands to uvicorn (one platform per worker process).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gongsheng.entrypoints.api import errors, limiter
from gongsheng.entrypoints.api.auth import database_key
from gongsheng.entrypoints.api.routes import ROUTERS
from gongsheng.entrypoints.web import mount_web
from gongsheng.services import accounts
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
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = errors.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, text in _PROBLEMS.items():
                responses[status] = {"description": text,
                                     "content": {errors.MEDIA_TYPE: {"schema": ref}}}
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
    secret = settings.secret(str(platform.engine.url.render_as_string(hide_password=False)))
    app.state.token_key = database_key(secret, platform.run(accounts.database_id))
    app.state.secret = app.state.token_key.secret  # this database's key (tokens, CSRF tokens)
    errors.install(app)
    limiter.install(app, limiter.from_settings(settings))
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    mount_web(app)  # the web pages (login, admin, one page per role) and their static files
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The app for ``GONGSHENG_DB`` (what ``serve`` runs in each uvicorn worker)."""
    settings = Settings()
    return create_app(Platform.open(settings.db), settings)
