"""Integration keys: issue, list, revoke (an administrator), and verify one on every request.

Invariants:

- the text of a key is returned once, by :func:`issue_key`; only its digest is stored, and no
  later answer carries it (:class:`KeyView` has no field for it);
- verifying (:func:`verify_key`) is one indexed read by the key's lookup id, with no cache: a
  revoked or expired key is refused at its very next use, in every process;
- ``last_used`` is written at most once per
  :data:`~gongsheng.domain.api_keys.LAST_USED_RESOLUTION_MS` per key (a conditional update, so
  concurrent requests write it once), and best effort: a busy database skips the note rather
  than fail the request;
- a key bound to a party is bound to an existing party that is not the platform, with scopes
  its binding can use (:func:`~gongsheng.domain.api_keys.check_binding`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from limits import parse as parse_rate

from gongsheng.adapters.api_key_store import note_use_unless_busy
from gongsheng.adapters.database import read_once
from gongsheng.domain import api_keys as keys
from gongsheng.domain.api_keys import Scope
from gongsheng.domain.errors import InvalidInput, NotFound, Unauthorized
from gongsheng.services.ports.work import Work
from gongsheng.services.unit_of_work import Connection, Engine, stores_on

REFUSED = "the API key is not valid"


@dataclass(frozen=True)
class KeyView:
    """A key as listed: everything but its secret (times are RFC 3339 UTC, or None)."""

    id: int
    prefix: str
    label: str
    party_id: int | None
    scopes: list[str]
    rate_limit: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    status: str
    created_at: str | None


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: its view and, this once, its text."""

    key: KeyView
    secret: str


@dataclass(frozen=True)
class ActiveKey:
    """A verified key: what the caller may do (``party_kind`` None: a platform key)."""

    id: int
    prefix: str
    label: str
    party_id: int | None
    party_kind: str | None
    scopes: frozenset[Scope]
    rate_limit: str | None


def _time(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def _view(row: Any, now_ms: int) -> KeyView:
    return KeyView(
        id=int(row.id), prefix=keys.PREFIX + row.lookup, label=row.label,
        party_id=None if row.party_id is None else int(row.party_id),
        scopes=row.scopes.split(), rate_limit=row.rate_limit, expires_at=_time(row.expires_ms),
        last_used_at=_time(row.last_used_ms), revoked_at=_time(row.revoked_ms),
        status=keys.state(row.revoked_ms, row.expires_ms, now_ms),
        created_at=None if row.created_at is None else str(row.created_at))


def check_rate(text: str | None) -> str | None:
    """A per-key rate limit in ``limits`` notation (``600/minute``), checked; None: the default."""
    if text is None:
        return None
    try:
        parse_rate(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a rate limit (write e.g. '600/minute')") from None
    return text


def issue_key(uow: Work, label: str, scopes: Iterable[str], *, now_ms: int,
              party_id: int | None = None, expires_ms: int | None = None,
              rate_limit: str | None = None, created_by: int | None = None) -> IssuedKey:
    """A new key with ``scopes``, bound to ``party_id`` (None: the platform); shown this once."""
    label = label.strip()
    if not label or len(label) > keys.MAX_LABEL:
        raise InvalidInput(f"a key's label has 1 to {keys.MAX_LABEL} characters")
    chosen = keys.parse_scopes(scopes)
    kind = None
    if party_id is not None:
        kind = uow.parties.kind(party_id)
        if kind is None:
            raise NotFound(f"party {party_id} does not exist")
        if kind == "platform":
            raise InvalidInput("a platform key is bound to no party: leave party_id out")
    keys.check_binding(kind, chosen)
    if expires_ms is not None and expires_ms <= now_ms:
        raise InvalidInput("a key's expiry must lie in the future")
    lookup = secrets.token_hex(keys.LOOKUP_CHARS // 2)
    text = keys.format_key(lookup, secrets.token_urlsafe(keys.SECRET_BYTES))
    key_id = uow.api_keys.add(lookup=lookup, secret_digest=keys.digest(text), label=label,
                              party_id=party_id, scopes=chosen, rate_limit=check_rate(rate_limit),
                              expires_ms=expires_ms, created_by=created_by)
    uow.audit("apikey.created", f"apikey:{key_id}", {
        "label": label, "party_id": party_id, "scopes": sorted(s.value for s in chosen),
        "expires_ms": expires_ms})
    return IssuedKey(_view(uow.api_keys.key(key_id), now_ms), text)


def list_keys(conn: Connection, *, now_ms: int, include_revoked: bool = True) -> list[KeyView]:
    """Every key (never its secret), oldest first."""
    return [_view(r, now_ms) for r in stores_on(conn).api_keys.keys(include_revoked=include_revoked)]


def revoke_key(uow: Work, key_id: int, *, now_ms: int) -> KeyView:
    """Revoke a key: refused from its next request on. Revoking it again changes nothing."""
    row = uow.api_keys.key(key_id)
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    uow.api_keys.revoke(key_id, now_ms)
    if row.revoked_ms is None:  # revoking again changes nothing and records nothing
        uow.audit("apikey.revoked", f"apikey:{key_id}", {"revoked_ms": now_ms})
    return _view(uow.api_keys.key(key_id), now_ms)


def verify_key(engine: Engine, text: str, *, now_ms: int) -> ActiveKey:
    """The key whose text this is, if active; :class:`Unauthorized` otherwise (malformed,
    unknown, wrong secret, revoked, expired). One indexed read; a due ``last_used`` note after."""
    parsed = keys.parse_key(text)
    if parsed is None:
        raise Unauthorized(REFUSED)
    row = _read(engine, parsed.lookup)
    if row is None or not keys.digest_matches(parsed.text, row.secret_digest):
        raise Unauthorized(REFUSED)
    status = keys.state(row.revoked_ms, row.expires_ms, now_ms)
    if status != "active":
        raise Unauthorized(f"the API key is {status}; ask an administrator for a new one")
    if keys.last_used_due(row.last_used_ms, now_ms):
        note_use_unless_busy(engine, int(row.id), now_ms, keys.LAST_USED_RESOLUTION_MS)
    return ActiveKey(int(row.id), keys.PREFIX + row.lookup, row.label,
                     None if row.party_id is None else int(row.party_id), row.party_kind,
                     frozenset(Scope(s) for s in row.scopes.split()), row.rate_limit)


def _read(engine: Engine, lookup: str) -> Any:
    return read_once(engine, lambda conn: stores_on(conn).api_keys.by_lookup(lookup))
