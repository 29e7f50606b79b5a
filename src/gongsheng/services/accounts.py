"""Login accounts: usernames, argon2 password hashes, roles bound to parties, session generations.

Invariants: a username is stored in its normal form and no two accounts share its look-alike
key (:mod:`gongsheng.services.usernames`); a password is stored only as an argon2 hash, and
every password set through here meets the policy (:mod:`gongsheng.services.passwords`); every
non-admin account is bound to a party of its role's kind, an admin to none.

Sessions: every token names its account's ``session_generation``; :func:`end_sessions` (sign
out), :func:`change_password` and :func:`set_disabled` move it on, so every token issued before
stops working at its next use (:func:`check_session`, one primary-key read per request). A
disabled account cannot sign in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher

from gongsheng.adapters.database import read_once
from gongsheng.domain.accounts import NewAccount, StoredAccount
from gongsheng.domain.errors import AlreadyHeld, Conflict, InvalidInput, NotFound, Unauthorized
from gongsheng.services.passwords import check_password, hash_password, verify_password
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.unit_of_work import Connection, Engine, stores_on
from gongsheng.services.usernames import normalise, username_key

ROLES = ("admin", "consumer", "merchant", "bm", "partner", "promoter")
FAILED = "unknown username or wrong password"
ENDED = "the session has ended (signed out, password changed or account disabled); sign in again"
DEMO_PASSWORD_BYTES = 12
"""Random bytes of a generated demo password (16 URL-safe characters, 96 bits)."""
_demo_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""The hash of generated demo passwords: a 96-bit random secret cannot be guessed offline at any
hash cost (the full cost protects chosen passwords), and a demo city has hundreds of logins."""


@dataclass(frozen=True)
class Account:
    """A login: its id, stored name, role, party (None for an admin) and session generation."""

    id: int
    username: str
    role: str
    party_id: int | None
    generation: int = 0


def _account(row: StoredAccount) -> Account:
    return Account(row.id, row.username, row.role, row.party_id, row.generation)


def _check_role(stores: Stores, role: str, party_id: int | None) -> int | None:
    """The party an account of ``role`` is bound to (None for an admin), checked."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if role == "admin":
        return None
    kind = None if party_id is None else stores.parties.kind(party_id)
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    if kind != role:
        raise InvalidInput(f"party {party_id} is a {kind}, not a {role}")
    return party_id


def _claim_name(stores: Stores, username: str) -> tuple[str, str]:
    """``(stored name, key)`` of a new account; :class:`AlreadyHeld` if the name or a look-alike is taken."""
    name = normalise(username)
    key = username_key(name)
    if stores.accounts.name_taken(name, key):
        raise AlreadyHeld(f"username {name!r} is taken (or one that reads the same)")
    return name, key


def create_account(uow: Work, username: str, password: str, role: str,
                   party_id: int | None = None, *, demo: bool = False) -> Account:
    """Create a login; refused for a taken (or look-alike) username, a weak password or a
    role/party mismatch."""
    name, key = _claim_name(uow, username)
    check_password(password, name)
    party_id = _check_role(uow, role, party_id)
    new_id = uow.accounts.add(NewAccount(name, key, hash_password(password), role, party_id, demo))
    uow.audit("account.created", f"account:{name}", {"role": role, "party_id": party_id})
    return Account(new_id, name, role, party_id)


def _find(stores: Stores, username: str) -> StoredAccount | None:
    """The account a typed name signs in to: the exact stored name, else its look-alike key."""
    name = (username or "").strip()[:400]
    return stores.accounts.find(name, username_key(name))


def authenticate(conn: Connection, username: str, password: str) -> Account:
    """The account whose password this is; :class:`Unauthorized` otherwise (same message either way).

    The same argon2 work is done whether or not the name exists. A disabled account is refused
    (saying so only to a caller who knew its password).
    """
    row = _find(stores_on(conn), username)
    if not verify_password(None if row is None else row.password_hash, password or ""):
        raise Unauthorized(FAILED)
    assert row is not None
    if row.disabled:
        raise Unauthorized("this account is disabled; ask an administrator")
    return _account(row)


def check_session(conn: Connection, account_id: int, generation: int) -> None:
    """:class:`Unauthorized` unless the account exists, is enabled and still in ``generation``."""
    found = stores_on(conn).accounts.session(account_id)
    if found is None or found[1] or found[0] != generation:
        raise Unauthorized(ENDED)


def check_session_now(engine: Engine, account_id: int, generation: int) -> None:
    """:func:`check_session` as cheaply as the database allows (one round trip on PostgreSQL:
    ``database.read_once``). Every authenticated request pays this."""
    read_once(engine, lambda conn: check_session(conn, account_id, generation))


def end_sessions(uow: Work, account_id: int) -> None:
    """Sign out: every token of the account issued so far stops working."""
    uow.accounts.end_sessions(account_id)


def change_password(uow: Work, account_id: int, current: str, new: str) -> None:
    """Replace the caller's password (the current one must be given); ends every session."""
    row = uow.accounts.by_id(account_id)
    if row is None or row.disabled:
        raise Unauthorized(ENDED)
    if not verify_password(row.password_hash, current or ""):
        raise Unauthorized("the current password is wrong")
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    _store_password(uow, account_id, row.username, new)
    uow.audit("account.password_changed", f"account:{row.username}")


def reset_password(uow: Work, username: str, new: str) -> Account:
    """Set an account's password (the operator's console); ends every session."""
    row = _by_name(uow, username)
    _store_password(uow, row.id, row.username, new)
    uow.audit("account.password_reset", f"account:{row.username}")
    return _account(row)


def _store_password(stores: Stores, account_id: int, username: str, new: str) -> None:
    check_password(new, username)
    stores.accounts.set_password(account_id, hash_password(new))


def _by_name(stores: Stores, username: str) -> StoredAccount:
    row = _find(stores, username)
    if row is None:
        raise NotFound(f"there is no account {username!r}")
    return row


def set_disabled(uow: Work, username: str, disabled: bool, *, by: int | None = None) -> Account:
    """Disable (or enable again) an account; disabling ends every session. ``by`` is the acting
    admin's account id: an admin cannot disable themself."""
    row = _by_name(uow, username)
    if disabled and by is not None and row.id == by:
        raise Conflict("you cannot disable your own account")
    uow.accounts.set_disabled(row.id, disabled)
    if row.disabled != disabled:
        uow.audit("account.disabled" if disabled else "account.enabled",
                  f"account:{row.username}", {"disabled": disabled})
    return _account(row)


def new_demo_password() -> str:
    """A random password for a demo login."""
    return secrets.token_urlsafe(DEMO_PASSWORD_BYTES)


def create_demo_accounts(uow: Work, logins: list[tuple[str, str, int | None, str]]) -> int:
    """Logins ``(username, role, party_id, password)`` marked ``demo``, each with its own password.

    Only ``gongsheng demo`` (and tests) call this, on databases it made; taken usernames are
    skipped. The admin's password must meet the policy and gets the full hash; the others are
    generated at random and get the light one (see :data:`_demo_hasher`). Returns the number created.
    """
    names = [normalise(u) for u, _, _, _ in logins]
    keys = [username_key(n) for n in names]
    taken = uow.accounts.keys_taken(keys)
    rows = []
    for name, key, (_, role, party, password) in zip(names, keys, logins, strict=True):
        if key in taken or role not in ROLES:
            continue
        taken.add(key)
        rows.append(NewAccount(name, key, _demo_hash(name, role, password), role, party, True))
    if rows:
        uow.accounts.add_many(rows)
        uow.audit("account.demo_logins_created", "accounts:demo", {"count": len(rows)})
    return len(rows)


def database_id(uow: Work) -> str:
    """The database's random identity (made at first use; concurrent first uses agree)."""
    return uow.accounts.database_id()


def demo_logins_sharing_a_password(conn: Connection) -> list[str]:
    """Usernames of demo logins whose password hash another login has too (an earlier demo
    gave every login one password)."""
    return stores_on(conn).accounts.demo_logins_sharing_a_password()


def demo_logins(conn: Connection) -> list[tuple[str, str, int | None]]:
    """``(username, role, party_id)`` of every demo login, in the order they were made."""
    return stores_on(conn).accounts.demo_logins()


def demo_login_count(conn: Connection) -> int:
    """How many demo logins the database holds (none: not made by ``gongsheng demo``)."""
    return stores_on(conn).accounts.demo_login_count()


def parties_without_login(conn: Connection) -> list[tuple[int, str]]:
    """``(party_id, kind)`` of every party (never the platform) no login is bound to, by id."""
    return stores_on(conn).accounts.parties_without_login()


def has_login(conn: Connection, username: str) -> bool:
    """Whether a login of exactly this stored name exists."""
    return stores_on(conn).accounts.has_login(username)


def reset_demo_passwords(uow: Work, passwords: dict[str, str]) -> None:
    """Give demo logins new passwords (``username -> password``); ends their sessions."""
    for name, password in passwords.items():
        role = uow.accounts.demo_role(name)
        if role is None:
            continue
        uow.accounts.set_demo_password(name, _demo_hash(name, role, password))


def _demo_hash(username: str, role: str, password: str) -> str:
    """A demo login's hash: the admin's password meets the policy and gets the full hash; the
    others are random (at least 12 characters) and get the light one."""
    if role == "admin":
        check_password(password, username)
        return hash_password(password)
    if len(password or "") < 12:
        raise InvalidInput("a demo password must have at least 12 characters")
    return str(_demo_hasher.hash(password))
