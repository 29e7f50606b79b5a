"""Integration keys as stored: a lookup id, the digest of the key (never its text), a binding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

StoredKey = Any
"""A key's row, by attribute (the ``api_keys`` columns; read by lookup, also ``party_kind``)."""


class ApiKeyStore(Protocol):
    """A lookup id names at most one key (a unique index: verifying is one indexed read); a
    key's revocation time, once set, never changes; ``last_used_ms`` only moves forward, at
    most once per resolution."""

    def add(self, *, lookup: str, secret_digest: str, label: str, party_id: int | None,
            scopes: Iterable[str], rate_limit: str | None, expires_ms: int | None,
            created_by: int | None) -> int:
        """A new key's row; its id."""
        ...

    def key(self, key_id: int) -> StoredKey | None:
        ...

    def keys(self, *, include_revoked: bool = True) -> list[StoredKey]:
        """Every key, oldest first."""
        ...

    def by_lookup(self, lookup: str) -> StoredKey | None:
        """The key a bearer credential names, with its party's kind (``party_kind``)."""
        ...

    def revoke(self, key_id: int, now_ms: int) -> None:
        """Mark a key revoked at ``now_ms`` (a key revoked before keeps its first time)."""
        ...
