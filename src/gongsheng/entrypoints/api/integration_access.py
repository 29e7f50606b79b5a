"""Who may use the integration resources (the event feed, webhook subscriptions).

Today: an administrator's bearer token. Integration keys with scopes (``events:read``,
``webhooks:write``) will be checked here, in :func:`integration_caller`, and nowhere else: every
integration route states the scope it needs through :func:`scoped`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.deps import current_user

EVENTS_READ = "events:read"
WEBHOOKS_WRITE = "webhooks:write"
ORDERS_QUOTE = "orders:quote"


def integration_caller(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting callers allowed ``scope`` (for now: administrators)."""

    async def caller(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        user.require_admin()  # integration keys: check the key's scopes against ``scope`` here
        return user

    caller.__name__ = f"caller_{scope.replace(':', '_')}"
    return caller


EventsReader = Annotated[Principal, Depends(integration_caller(EVENTS_READ))]
WebhooksAdmin = Annotated[Principal, Depends(integration_caller(WEBHOOKS_WRITE))]
