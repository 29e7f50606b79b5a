"""Who may call the routes open to integration keys, and with which scope.

Every route an integration key may call states the one scope it needs, through the aliases
below (built by :func:`scoped`); every other route takes :data:`~.deps.CurrentUser` or
:data:`~.deps.AdminUser`, which refuse keys. The rules, in one place:

- a signed-in account passes the scope check (its role decides, as the route does for it);
- a key passes only with the route's scope (403 otherwise);
- ``platform=True`` routes (the feed, webhooks, the operator's reports) need an administrator or
  a platform key: a party key is refused (403) even with the scope;
- past the scope, the route's own rules decide which party's objects the caller may touch: a
  party key is that party (a merchant's key orders and refunds at that merchant only; another's
  order answers 404 as for anyone else), a platform key reaches every party within its scopes.

:data:`ROUTE_SCOPES` records, per dependency, the scope it checks, so that tests can walk the
route table and try every route with a key that lacks its scope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from gongsheng.domain.api_keys import Scope
from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.deps import any_caller

ROUTE_SCOPES: dict[Callable[..., Principal], tuple[Scope, bool]] = {}
"""Each scope-checking dependency: ``(scope, platform only)``."""


def scoped(scope: Scope, *, platform: bool = False) -> Callable[[Principal], Principal]:
    """A dependency admitting signed-in accounts and keys holding ``scope``; with ``platform``,
    only administrators and platform keys."""

    def caller(user: Annotated[Principal, Depends(any_caller)]) -> Principal:
        user.require_scope(scope)
        if platform:
            user.require_admin()
        return user

    caller.__name__ = f"caller_{scope.value.replace(':', '_')}{'_platform' if platform else ''}"
    ROUTE_SCOPES[caller] = (scope, platform)
    return caller


OrdersWriter = Annotated[Principal, Depends(scoped(Scope.ORDERS_WRITE))]
RefundsWriter = Annotated[Principal, Depends(scoped(Scope.REFUNDS_WRITE))]
ReportsReader = Annotated[Principal, Depends(scoped(Scope.REPORTS_READ))]
PlatformReportsReader = Annotated[Principal, Depends(scoped(Scope.REPORTS_READ, platform=True))]
WalletsReader = Annotated[Principal, Depends(scoped(Scope.WALLETS_READ))]
EventsReader = Annotated[Principal, Depends(scoped(Scope.EVENTS_READ, platform=True))]
WebhooksAdmin = Annotated[Principal, Depends(scoped(Scope.WEBHOOKS_MANAGE, platform=True))]


def route_scope(route: object) -> tuple[Scope, bool] | None:
    """``(scope, platform only)`` a route checks, or None for a route that refuses keys."""
    dependant = getattr(route, "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        found = ROUTE_SCOPES.get(current.call) if current.call is not None else None
        if found is not None:
            return found
        stack.extend(current.dependencies)
    return None


KEY_SCHEME = "IntegrationKey"


def document_keys(routers: Sequence[APIRouter], prefix: str, schema: dict[str, Any]) -> None:
    """Add the integration key's bearer scheme to the OpenAPI ``schema`` and, on every operation
    of ``routers`` (mounted under ``prefix``) a key may call, the scope it needs
    (``x-required-scope``) beside both ways in."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[KEY_SCHEME] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "gsk_<lookup>_<secret>",
        "description": "An integration key (POST /api/v1/api-keys), sent as "
                       "'Authorization: Bearer gsk_...'. It may call only the operations that "
                       "name a scope it holds (x-required-scope); revoked or expired: 401; "
                       "without the scope or outside its party: 403; over its rate limit: 429."}
    paths = schema.get("paths", {})
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        found = route_scope(route)
        if found is None:
            continue
        scope, platform = found
        for method in route.methods or ():
            operation = paths.get(prefix + route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            person = operation.get("security", [])
            operation["security"] = [*person, {KEY_SCHEME: [scope.value]}]
            operation["x-required-scope"] = scope.value
            if platform:
                operation["x-platform-key-only"] = True
