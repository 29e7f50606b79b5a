"""Bearer tokens: signed (HS256), expiring JWTs naming the account, its role, its party, its
session generation and the database they were issued for.

- **Bound to one database.** A token is signed with :func:`database_key`, a key derived from
  the configured signing key and the database's random id (``database_identity``), and names
  that id as its audience (``aud``). A token of one database therefore fails on another, even
  when every database served from a working folder shares one signing key.
- **Ended at once.** A token carries its account's id (``uid``) and session generation
  (``gen``). Signature and claims are checked once and remembered (a bounded cache; the expiry
  is checked on every use); the generation is checked on every request against the accounts
  table (:func:`gongsheng.services.accounts.check_session`, one primary-key read), so signing
  out, a password change or disabling the account ends every earlier token in every worker
  process at its next use.
- **Signing in** (:func:`sign_in`) is rate limited per address and per username, and its
  argon2 work runs in a small thread pool of its own.

The second kind of principal is an **integration key** (``Authorization: Bearer gsk_...``,
:mod:`gongsheng.domain.api_keys`), checked by :func:`authorize_key`: one indexed read per
request (so a revoked or expired key is refused at once), then the key's rate limit. A key's
principal carries its scopes; the routes it may call say which scope they need
(:mod:`.integration_access`), and every other route refuses keys
(:meth:`Principal.require_person`). A platform key acts with an administrator's reach within its
scopes; a party key as that party.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anyio.to_thread
import jwt
from fastapi import Request

from gongsheng.domain.api_keys import Scope
from gongsheng.domain.errors import Forbidden, Unauthorized
from gongsheng.entrypoints.api.limiter import (
    REQUESTS_PER_API_KEY,
    SIGN_IN_FAILURES_PER_USERNAME,
    SIGN_IN_PER_ADDRESS,
    Limiter,
    client_address,
)
from gongsheng.services import accounts, api_keys
from gongsheng.services.accounts import ROLES, Account
from gongsheng.services.passwords import HASH_SLOTS
from gongsheng.services.platform import Platform
from gongsheng.services.usernames import username_key

ALGORITHM = "HS256"
ISSUER = "gongsheng"


@dataclass(frozen=True)
class TokenKey:
    """What tokens of one database are signed with and addressed to."""

    secret: str
    database_id: str


def app_token_key(app: Any) -> TokenKey:
    """The token key of the app's database, derived on first use (so the process starts, and
    answers ``/healthz``, while its database is still unreachable)."""
    key: TokenKey | None = getattr(app.state, "token_key", None)
    if key is None:
        key = database_key(app.state.base_secret, app.state.platform.run(accounts.database_id))
        app.state.token_key = key
    return key


def database_key(secret: str, database_id: str) -> TokenKey:
    """The signing key of the database ``database_id`` under the configured ``secret``."""
    derived = hmac.new(secret.encode(), b"gongsheng token key:" + database_id.encode(),
                       hashlib.sha256).hexdigest()
    return TokenKey(derived, database_id)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account's username, role, party (None for an admin), and the account
    id and session generation its token was issued for; or an integration key (``key_id`` set,
    ``username`` its public prefix, ``scopes`` what it may do, role ``admin`` for a platform
    key and its party's kind for a party key)."""

    username: str
    role: str
    party_id: int | None
    account_id: int = 0
    generation: int = 0
    key_id: int | None = None
    scopes: frozenset[Scope] = frozenset()

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_key(self) -> bool:
        return self.key_id is not None

    def require_person(self) -> None:
        """Refuse an integration key: this route is for signed-in accounts."""
        if self.is_key:
            raise Forbidden("API keys cannot call this route; it is for signed-in accounts")

    def require_scope(self, scope: Scope) -> None:
        """Refuse a key without ``scope`` (a signed-in account has every scope its role has)."""
        if self.is_key and scope not in self.scopes:
            raise Forbidden(f"this API key lacks the scope {scope.value!r} this route needs")

    def owns(self, party_id: int) -> bool:
        """Admin sees all; any other role only its own party."""
        return self.admin or self.party_id == party_id

    def require_own(self, party_id: int, what: str = "this party's data") -> None:
        if not self.owns(party_id):
            raise Forbidden(f"{what} belongs to another party; you may read only your own")

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("this operation is for administrators")


def issue_token(account: Account, key: TokenKey, minutes: int) -> str:
    """A signed token for ``account`` on ``key``'s database that expires in ``minutes``."""
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": account.username, "role": account.role, "party_id": account.party_id,
              "uid": account.id, "gen": account.generation, "aud": key.database_id,
              "iss": ISSUER, "iat": now, "exp": now + dt.timedelta(minutes=minutes)}
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM)


def read_token(token: str, key: TokenKey) -> Principal:
    """The principal a token names; :class:`Unauthorized` if it is forged, malformed, expired
    or meant for another database. (The session is checked by :func:`authorize`.)

    A token whose signature and claims were checked once is remembered (a bounded cache of
    recent tokens) with its expiry, which is checked again on every use.
    """
    principal, expires = _checked(token, key)
    if time.time() >= expires:
        raise Unauthorized("the token has expired; ask for a new one at /api/v1/auth/token")
    return principal


def authorize(platform: Platform, token: str, key: TokenKey) -> Principal:
    """:func:`read_token`, then the session check (the account still in the token's generation)."""
    principal = read_token(token, key)
    accounts.check_session_now(platform.engine, principal.account_id, principal.generation)
    return principal


def authorize_key(platform: Platform, limiter: Limiter, text: str, *,
                  default_rate: str | None = None) -> Principal:
    """The principal of an integration key (:class:`Unauthorized` unless active), after one hit
    of its rate limit (:class:`~.limiter.RateLimited`, 429, over it): the key's own limit, else
    the configured default."""
    key = api_keys.verify_key(platform.engine, text, now_ms=int(time.time() * 1000))
    limiter.hit(REQUESTS_PER_API_KEY, str(key.id), limit=key.rate_limit or default_rate)
    role = "admin" if key.party_kind is None else key.party_kind
    return Principal(key.prefix, role, key.party_id, key_id=key.id, scopes=key.scopes)


@lru_cache(maxsize=4096)
def _checked(token: str, key: TokenKey) -> tuple[Principal, float]:
    """A token's principal and expiry (seconds since the epoch), signature and claims checked;
    raises (and so caches nothing) when they do not hold."""
    try:
        claims = jwt.decode(token, key.secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            audience=key.database_id,
                            options={"require": ["sub", "role", "exp", "iss", "aud", "uid", "gen"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; ask for a new one at /api/v1/auth/token") from None
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid") from None
    role, party = claims.get("role"), claims.get("party_id")
    uid, gen = claims.get("uid"), claims.get("gen")
    if role not in ROLES or not isinstance(claims.get("sub"), str) or (
            party is not None and not isinstance(party, int)) or (role != "admin" and party is None) or (
            type(uid) is not int or type(gen) is not int):
        raise Unauthorized("the token is not valid")
    return Principal(claims["sub"], role, party, uid, gen), float(claims["exp"])


async def sign_in(request: Request, username: str, password: str) -> Account:
    """The account a username and password sign in to, within the rate limits.

    Refused with :class:`~gongsheng.entrypoints.api.limiter.RateLimited` (429) before any
    password work when the caller's address has spent its attempts, or the username its failed
    ones (counted on the name's look-alike key, so ``Admin`` counts against ``admin``). The
    password check runs in a worker thread of its own small pool
    (:data:`~gongsheng.services.passwords.HASH_SLOTS` threads), so waiting sign-ins hold neither
    the event loop nor the threads other routes run in.
    """
    limiter: Limiter = request.app.state.limiter
    limiter.hit(SIGN_IN_PER_ADDRESS, client_address(request))
    name_key = username_key((username or "").strip()[:400])
    limiter.check(SIGN_IN_FAILURES_PER_USERNAME, name_key)
    platform: Platform = request.app.state.platform
    try:
        return await anyio.to_thread.run_sync(platform.read, accounts.authenticate, username, password,
                                              limiter=_password_threads(request))
    except Unauthorized:
        limiter.hit(SIGN_IN_FAILURES_PER_USERNAME, name_key)
        raise


def _password_threads(request: Request) -> anyio.CapacityLimiter:
    """The app's pool of password-checking threads (made on first use, in the app's event loop)."""
    threads: anyio.CapacityLimiter | None = getattr(request.app.state, "password_threads", None)
    if threads is None:
        threads = request.app.state.password_threads = anyio.CapacityLimiter(HASH_SLOTS)
    return threads
