"""Dependencies of the routes, as ``Annotated`` aliases: the platform, the caller, common parameters.

Finding the caller reads the database (the token's session generation,
:func:`gongsheng.entrypoints.api.auth.authorize`, or an integration key's row,
:func:`~gongsheng.entrypoints.api.auth.authorize_key`), so :func:`current_user`,
:func:`optional_user` and :func:`any_caller` are plain functions, which FastAPI runs in its
thread pool, off the event loop; the others only read the app state and are ``async``.

:func:`current_user` and :func:`optional_user` admit signed-in accounts only: an integration key
is refused (403) by every route but those that name the scope they need
(:mod:`.integration_access`, built on :func:`any_caller`).

**Who acts.** A route that changes something takes :data:`ActingPlatform` (or calls
``platform.as_actor(actor_of(user))``): the platform acting for the caller, so the audit records
its use case makes name the caller (:func:`actor_of`, the one place a principal becomes an audit
actor: a login name, or ``apikey:<id>`` for an integration key) and the request's id.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator, BeforeValidator

from gongsheng.domain.api_keys import looks_like_key
from gongsheng.domain.audit import ANONYMOUS_NAME, Actor
from gongsheng.domain.errors import InvalidInput, Unauthorized
from gongsheng.entrypoints.api.auth import Principal, app_token_key, authorize, authorize_key
from gongsheng.entrypoints.api.limiter import SIGN_UP_PER_ADDRESS, Limiter, client_address
from gongsheng.entrypoints.api.observability.context import current_request_id
from gongsheng.services.idempotency import MAX_KEY
from gongsheng.services.platform import Platform

MAX_ID = 2**53
"""Largest id a client may send (JSON-safe integers; every stored id is far below)."""

TOKEN_URL = "/api/v1/auth/token"
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _principal(request: Request, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>' "
                           f"(a token comes from {TOKEN_URL})")
    if looks_like_key(token):
        return authorize_key(request.app.state.platform, request.app.state.limiter, token,
                             default_rate=request.app.state.settings.api_key_rate_limit)
    return authorize(request.app.state.platform, token, app_token_key(request.app))


def any_caller(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    """The caller named by the bearer token or integration key (401 without a valid one); the
    route must check a key's scope (:mod:`.integration_access` does)."""
    return _principal(request, token)


async def current_user(user: Annotated[Principal, Depends(any_caller)]) -> Principal:
    """The signed-in account named by the bearer token (401 without a valid one; 403 for an
    integration key). Built on :func:`any_caller`, so a route that also takes
    :data:`ActingPlatform` finds its caller once."""
    user.require_person()
    return user


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    """The caller, who must be an administrator (403 otherwise)."""
    user.require_admin()
    return user


def optional_user(request: Request) -> Principal | None:
    """The caller if a bearer token is sent (checked), None for an anonymous request."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("only bearer tokens are accepted")
    user = _principal(request, token.strip())
    user.require_person()
    return user


def actor_of(user: Principal | None) -> Actor:
    """Who a caller acts as in the audit log: ``apikey:<id>`` for an integration key, else its
    login name (``anonymous`` without one), with the id of the request being served."""
    if user is not None and user.key_id is not None:
        return Actor.api_key(user.key_id, current_request_id())
    return Actor(user.username if user is not None else ANONYMOUS_NAME, current_request_id())


async def acting_platform(request: Request,
                          user: Annotated[Principal, Depends(any_caller)]) -> Platform:
    """The platform acting for the caller (see :func:`actor_of`); who may call the route is
    the route's own dependency's to decide (:data:`CurrentUser`, :data:`AdminUser`, a scope)."""
    platform: Platform = request.app.state.platform
    return platform.as_actor(actor_of(user))


_DIGITS = re.compile(r"[0-9]{1,19}")


def _decimal_digits(value: object) -> object:
    """A path or query integer as plain decimal digits: no sign, space, point, exponent or ``_``
    (which lax parsing would otherwise take: ``100.0``, ``+100``, `` 100``, ``1_000``)."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in decimal digits")
    return value


Digits = BeforeValidator(_decimal_digits)
"""Put after ``Path(...)`` / ``Query(...)`` in an ``Annotated`` integer parameter."""

def count_sign_up(request: Request) -> None:
    """Count an anonymous sign-up against the caller's address (429 over the limit)."""
    limiter: Limiter = request.app.state.limiter
    limiter.hit(SIGN_UP_PER_ADDRESS, client_address(request))


PlatformDep = Annotated[Platform, Depends(get_platform)]
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
MaybeUser = Annotated[Principal | None, Depends(optional_user)]
ActingPlatform = Annotated[Platform, Depends(acting_platform)]
"""The platform acting for the signed-in caller: for every route that changes something."""
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=MAX_KEY, pattern=r"^[\x21-\x7e]+$",
    description="a key unique to this write: the same key with the same body returns the first "
                "result; with another body, 409")]
PartyId = Annotated[int, Path(ge=1, le=MAX_ID, description="a party's id"), Digits]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="an order's id"), Digits]
Limit = Annotated[int, Query(ge=1, le=200, description="page size"), Digits]


def _first_page_only(value: int) -> int:
    if value != 0:
        raise ValueError("lists are paged by key, not by offset: pass the previous page's "
                         "next_before as before")
    return value


Offset = Annotated[int, Query(
    ge=0, le=10**9, deprecated=True,
    description="0 only (the first page), as clients paging by offset send it; any other offset "
                "is refused (422): lists are paged by key, pass next_before as before"),
    Digits, AfterValidator(_first_page_only)]
"""Lists took ``offset`` once; they page by key now (:mod:`gongsheng.adapters.paging`). A client
asking for its first page still gets it, one asking to skip rows is told how to page instead,
never silently served the first page again."""
RowsToSkip = Annotated[int, Query(ge=0, le=10**9, description="rows to skip"), Digits]
"""``offset`` where a list still pages by it (a webhook subscription's deliveries), costing what
it skips; every other list pages by key."""
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="only rows with a smaller id "
                                     "(the previous page's next_before): paged by key"), Digits]


def single_valued_query(request: Request) -> None:
    """Refuse a query parameter given more than once: every parameter of the API is one value
    (a list, like ``types``, is one comma-separated value), and silently taking the last of
    several would hide a caller's mistake."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise InvalidInput(f"query parameter {name!r} is given more than once")
        seen.add(name)
