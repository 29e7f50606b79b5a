"""Login accounts as stored: names, password hashes, roles, parties, session generations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from gongsheng.domain.accounts import NewAccount, StoredAccount


class AccountStore(Protocol):
    """No two accounts share a stored name or a look-alike key (a unique index); a session
    generation only moves on (every move ends the sessions issued before); the database's
    identity is one row, made once: concurrent first uses agree on it."""

    def name_taken(self, username: str, username_key: str) -> bool:
        """Whether an account has this stored name or this look-alike key."""
        ...

    def keys_taken(self, username_keys: Sequence[str]) -> set[str]:
        """Which of ``username_keys`` an account has."""
        ...

    def add(self, account: NewAccount) -> int:
        """Store an account; its id."""
        ...

    def add_many(self, accounts: Iterable[NewAccount]) -> None:
        ...

    def find(self, username: str, username_key: str) -> StoredAccount | None:
        """The account of exactly this stored name, else the one of this look-alike key."""
        ...

    def by_id(self, account_id: int) -> StoredAccount | None:
        ...

    def session(self, account_id: int) -> tuple[int, bool] | None:
        """``(session generation, disabled)`` of an account (one primary-key read)."""
        ...

    def end_sessions(self, account_id: int) -> None:
        """Move the account's session generation on."""
        ...

    def set_password(self, account_id: int, password_hash: str) -> None:
        """Store a new hash and move the session generation on."""
        ...

    def set_disabled(self, account_id: int, disabled: bool) -> None:
        """Disable (moving the session generation on) or enable an account."""
        ...

    def database_id(self) -> str:
        """The database's random identity, made at first use."""
        ...

    def demo_role(self, username: str) -> str | None:
        """The role of the demo login of exactly this stored name (None: no such demo login)."""
        ...

    def set_demo_password(self, username: str, password_hash: str) -> None:
        """Store a login's new hash and move its session generation on."""
        ...

    def demo_logins_sharing_a_password(self) -> list[str]:
        """Usernames of demo logins whose hash another login has too, by id."""
        ...

    def demo_logins(self) -> list[tuple[str, str, int | None]]:
        """``(username, role, party_id)`` of every demo login, by id."""
        ...

    def demo_login_count(self) -> int:
        ...

    def parties_without_login(self) -> list[tuple[int, str]]:
        """``(party_id, kind)`` of every party but the platform no login is bound to, by id."""
        ...

    def has_login(self, username: str) -> bool:
        """Whether a login of exactly this stored name exists."""
        ...
