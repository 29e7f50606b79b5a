"""Integration keys (接入密钥): what a key is, what it may do, and how its text is written.

A key is held by a machine, not a person: a merchant's POS terminals, the payment gateway, the
operator's reporting or accounting system. It is bound either to one **party** (a merchant's
terminals: orders and refunds at that merchant only; any party: its own wallet and reports) or
to the **platform** (a gateway: orders at any merchant; a reporting key: reads only), and holds a
set of :class:`Scope` values naming the routes it may call.

Its text is ``gsk_<lookup>_<secret>``: :data:`LOOKUP_CHARS` hexadecimal characters that name the
stored row (unique, indexed: verifying a key is one indexed read) and a random secret of
:data:`SECRET_BYTES` bytes (URL-safe base64). Only the SHA-256 digest of the whole text is
stored; a fast digest is enough because the secret is random (256 bits cannot be guessed
offline at any hash cost; the slow password hash protects chosen passwords only).

Invariants (:func:`check_binding`): a key has at least one scope; ``events:read`` and
``webhooks:manage`` belong to platform keys only (the feed and the subscriptions show every
party's events); ``orders:write`` and ``refunds:write`` bound to a party only to a merchant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gongsheng.domain.errors import InvalidInput

PREFIX = "gsk_"
LOOKUP_CHARS = 12
SECRET_BYTES = 32
MAX_LABEL = 200
LAST_USED_RESOLUTION_MS = 60_000
"""A key's ``last_used`` is written at most once per this many milliseconds (so a busy key costs
one small write a minute, not one per request); it is exact to within this resolution."""


class Scope(StrEnum):
    """What a key may do; every route a key may call names the one scope it needs."""

    ORDERS_WRITE = "orders:write"
    REFUNDS_WRITE = "refunds:write"
    REPORTS_READ = "reports:read"
    WALLETS_READ = "wallets:read"
    EVENTS_READ = "events:read"
    WEBHOOKS_MANAGE = "webhooks:manage"


PLATFORM_ONLY = frozenset({Scope.EVENTS_READ, Scope.WEBHOOKS_MANAGE})
"""Scopes only a platform key may hold: what they show spans every party."""
MERCHANT_ONLY = frozenset({Scope.ORDERS_WRITE, Scope.REFUNDS_WRITE})
"""Scopes a party key may hold only when its party is a merchant."""

_KEY = re.compile(rf"{PREFIX}([0-9a-f]{{{LOOKUP_CHARS}}})_([A-Za-z0-9_-]{{43}})")


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """The scopes named in ``values``; :class:`InvalidInput` for an unknown one or none at all."""
    chosen: set[Scope] = set()
    for value in values:
        try:
            chosen.add(Scope(value.strip()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(f"unknown scope {value!r}; the scopes are {known}") from None
    if not chosen:
        raise InvalidInput("a key needs at least one scope")
    return frozenset(chosen)


def check_binding(party_kind: str | None, scopes: frozenset[Scope]) -> None:
    """Refuse scopes that the key's binding cannot use (``party_kind`` None: a platform key)."""
    if party_kind is None:
        return
    platform_only = sorted(scopes & PLATFORM_ONLY)
    if platform_only:
        raise InvalidInput(f"{', '.join(platform_only)} belong to platform keys only "
                           "(what they show spans every party)")
    if party_kind != "merchant" and scopes & MERCHANT_ONLY:
        raise InvalidInput(f"a key of a {party_kind} cannot write orders or refunds: "
                           "only a merchant's keys (its terminals) can")


def format_key(lookup: str, secret: str) -> str:
    """The text of a key from its lookup id and its secret."""
    return f"{PREFIX}{lookup}_{secret}"


@dataclass(frozen=True)
class KeyText:
    """A key's text split into the lookup id (names the row) and the whole text (to digest)."""

    lookup: str
    text: str


def parse_key(text: str) -> KeyText | None:
    """The parts of a well-formed key's text; None for anything else (not a key at all)."""
    match = _KEY.fullmatch(text)
    return None if match is None else KeyText(match.group(1), text)


def looks_like_key(text: str) -> bool:
    """Whether a bearer credential is meant as a key (begins ``gsk_``), well-formed or not."""
    return text.startswith(PREFIX)


def digest(text: str) -> str:
    """What is stored of a key: the SHA-256 of its text, hexadecimal."""
    return hashlib.sha256(text.encode()).hexdigest()


def digest_matches(text: str, stored: str) -> bool:
    """Whether ``text`` is the key whose digest is ``stored`` (compared in constant time)."""
    return hmac.compare_digest(digest(text), stored)


def state(revoked_ms: int | None, expires_ms: int | None, now_ms: int) -> str:
    """``active``, ``revoked`` or ``expired`` at ``now_ms`` (revocation wins over expiry)."""
    if revoked_ms is not None:
        return "revoked"
    if expires_ms is not None and now_ms >= expires_ms:
        return "expired"
    return "active"


def last_used_due(last_used_ms: int | None, now_ms: int) -> bool:
    """Whether a use at ``now_ms`` should be written (see :data:`LAST_USED_RESOLUTION_MS`)."""
    return last_used_ms is None or now_ms - last_used_ms >= LAST_USED_RESOLUTION_MS
