"""Bearer tokens: signed (HS256), expiring JWTs naming the account, its role and its party.

A token is checked by signature and expiry only (no database read per request), so it stays
valid until it expires; its lifetime is ``Settings.token_minutes``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt

from gongsheng.domain.errors import Forbidden, Unauthorized
from gongsheng.services.accounts import ROLES, Account

ALGORITHM = "HS256"
ISSUER = "gongsheng"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account's username, role and party (None for an admin)."""

    username: str
    role: str
    party_id: int | None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def owns(self, party_id: int) -> bool:
        """Admin sees all; any other role only its own party."""
        return self.admin or self.party_id == party_id

    def require_own(self, party_id: int, what: str = "this party's data") -> None:
        if not self.owns(party_id):
            raise Forbidden(f"{what} belongs to another party; you may read only your own")

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("this operation is for administrators")


def issue_token(account: Account, secret: str, minutes: int) -> str:
    """A signed token for ``account`` that expires in ``minutes``."""
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": account.username, "role": account.role, "party_id": account.party_id,
              "iss": ISSUER, "iat": now, "exp": now + dt.timedelta(minutes=minutes)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """The principal a token names; :class:`Unauthorized` if it is forged, malformed or expired.

    A token whose signature and claims were checked once is remembered (a bounded cache of
    recent tokens) with its expiry, which is checked again on every use.
    """
    principal, expires = _checked(token, secret)
    if time.time() >= expires:
        raise Unauthorized("the token has expired; ask for a new one at /api/v1/auth/token")
    return principal


@lru_cache(maxsize=4096)
def _checked(token: str, secret: str) -> tuple[Principal, float]:
    """A token's principal and expiry (seconds since the epoch), signature and claims checked;
    raises (and so caches nothing) when they do not hold."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "role", "exp", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; ask for a new one at /api/v1/auth/token") from None
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid") from None
    role, party = claims.get("role"), claims.get("party_id")
    if role not in ROLES or not isinstance(claims.get("sub"), str) or (
            party is not None and not isinstance(party, int)) or (role != "admin" and party is None):
        raise Unauthorized("the token is not valid")
    return Principal(claims["sub"], role, party), float(claims["exp"])
