"""Login accounts as stored: a name in its normal form with its look-alike key, the argon2 hash
of the password (never the password), a role, the party it is bound to (None for an admin)
and a session generation that only moves on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredAccount:
    """An account's row: never its password, only the argon2 hash of it."""

    id: int
    username: str
    role: str
    party_id: int | None
    generation: int
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class NewAccount:
    """An account to store: a name in its normal form and its look-alike key, a hash."""

    username: str
    username_key: str
    password_hash: str
    role: str
    party_id: int | None
    demo: bool
