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
from sqlalchemy import Connection, Engine, Row, func, insert, or_, select, update

from gongsheng.adapters import account_store
from gongsheng.adapters import tables as t
from gongsheng.adapters.database import read_once
from gongsheng.domain.errors import AlreadyHeld, Conflict, InvalidInput, NotFound, Unauthorized
from gongsheng.services.passwords import check_password, hash_password, verify_password
from gongsheng.services.unit_of_work import UnitOfWork
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


def _account(row: Row[tuple[object, ...]] | Row[object]) -> Account:
    m = row._mapping
    party = m["party_id"]
    return Account(int(m["id"]), str(m["username"]), str(m["role"]),
                   None if party is None else int(party), int(m["session_generation"]))


def _check_role(conn: Connection, role: str, party_id: int | None) -> int | None:
    """The party an account of ``role`` is bound to (None for an admin), checked."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if role == "admin":
        return None
    kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar()
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    if kind != role:
        raise InvalidInput(f"party {party_id} is a {kind}, not a {role}")
    return party_id


def _claim_name(conn: Connection, username: str) -> tuple[str, str]:
    """``(stored name, key)`` of a new account; :class:`AlreadyHeld` if the name or a look-alike is taken."""
    name = normalise(username)
    key = username_key(name)
    if conn.execute(select(t.users.c.id).where(or_(t.users.c.username_key == key,
                                                   t.users.c.username == name))).first():
        raise AlreadyHeld(f"username {name!r} is taken (or one that reads the same)")
    return name, key


def create_account(uow: UnitOfWork, username: str, password: str, role: str,
                   party_id: int | None = None, *, demo: bool = False) -> Account:
    """Create a login; refused for a taken (or look-alike) username, a weak password or a
    role/party mismatch."""
    conn = uow.conn
    name, key = _claim_name(conn, username)
    check_password(password, name)
    party_id = _check_role(conn, role, party_id)
    new_id = conn.execute(insert(t.users).returning(t.users.c.id), {
        "username": name, "username_key": key, "password_hash": hash_password(password),
        "role": role, "party_id": party_id, "demo": demo}).scalar_one()
    uow.audit("account.created", f"account:{name}", {"role": role, "party_id": party_id})
    return Account(int(new_id), name, role, party_id)


def _find(conn: Connection, username: str) -> Row[tuple[object, ...]] | None:
    """The account a typed name signs in to: the exact stored name, else its look-alike key."""
    name = (username or "").strip()[:400]
    key = username_key(name)
    u = t.users
    return conn.execute(select(u).where(or_(u.c.username == name, u.c.username_key == key))
                        .order_by((u.c.username == name).desc()).limit(1)).first()


def authenticate(conn: Connection, username: str, password: str) -> Account:
    """The account whose password this is; :class:`Unauthorized` otherwise (same message either way).

    The same argon2 work is done whether or not the name exists. A disabled account is refused
    (saying so only to a caller who knew its password).
    """
    row = _find(conn, username)
    if not verify_password(None if row is None else row.password_hash, password or ""):
        raise Unauthorized(FAILED)
    assert row is not None
    if row.disabled:
        raise Unauthorized("this account is disabled; ask an administrator")
    return _account(row)


def check_session(conn: Connection, account_id: int, generation: int) -> None:
    """:class:`Unauthorized` unless the account exists, is enabled and still in ``generation``."""
    row = conn.execute(select(t.users.c.session_generation, t.users.c.disabled)
                       .where(t.users.c.id == account_id)).first()
    if row is None or row.disabled or int(row.session_generation) != generation:
        raise Unauthorized(ENDED)


def check_session_now(engine: Engine, account_id: int, generation: int) -> None:
    """:func:`check_session` as cheaply as the database allows (one round trip on PostgreSQL:
    ``database.read_once``). Every authenticated request pays this."""
    read_once(engine, lambda conn: check_session(conn, account_id, generation))


def end_sessions(uow: UnitOfWork, account_id: int) -> None:
    """Sign out: every token of the account issued so far stops working."""
    uow.conn.execute(update(t.users).where(t.users.c.id == account_id)
                     .values(session_generation=t.users.c.session_generation + 1))


def change_password(uow: UnitOfWork, account_id: int, current: str, new: str) -> None:
    """Replace the caller's password (the current one must be given); ends every session."""
    row = uow.conn.execute(select(t.users).where(t.users.c.id == account_id)).first()
    if row is None or row.disabled:
        raise Unauthorized(ENDED)
    if not verify_password(row.password_hash, current or ""):
        raise Unauthorized("the current password is wrong")
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    _store_password(uow.conn, account_id, row.username, new)
    uow.audit("account.password_changed", f"account:{row.username}")


def reset_password(uow: UnitOfWork, username: str, new: str) -> Account:
    """Set an account's password (the operator's console); ends every session."""
    row = _by_name(uow.conn, username)
    _store_password(uow.conn, int(row.id), row.username, new)
    uow.audit("account.password_reset", f"account:{row.username}")
    return _account(row)


def _store_password(conn: Connection, account_id: int, username: str, new: str) -> None:
    check_password(new, username)
    conn.execute(update(t.users).where(t.users.c.id == account_id).values(
        password_hash=hash_password(new), session_generation=t.users.c.session_generation + 1))


def _by_name(conn: Connection, username: str) -> Row[tuple[object, ...]]:
    row = _find(conn, username)
    if row is None:
        raise NotFound(f"there is no account {username!r}")
    return row


def set_disabled(uow: UnitOfWork, username: str, disabled: bool, *, by: int | None = None) -> Account:
    """Disable (or enable again) an account; disabling ends every session. ``by`` is the acting
    admin's account id: an admin cannot disable themself."""
    row = _by_name(uow.conn, username)
    if disabled and by is not None and int(row.id) == by:
        raise Conflict("you cannot disable your own account")
    changes: dict[str, object] = {"disabled": disabled}
    if disabled:
        changes["session_generation"] = t.users.c.session_generation + 1
    uow.conn.execute(update(t.users).where(t.users.c.id == row.id).values(changes))
    if bool(row.disabled) != disabled:
        uow.audit("account.disabled" if disabled else "account.enabled",
                  f"account:{row.username}", {"disabled": disabled})
    return _account(row)


def new_demo_password() -> str:
    """A random password for a demo login."""
    return secrets.token_urlsafe(DEMO_PASSWORD_BYTES)


def create_demo_accounts(uow: UnitOfWork, logins: list[tuple[str, str, int | None, str]]) -> int:
    """Logins ``(username, role, party_id, password)`` marked ``demo``, each with its own password.

    Only ``gongsheng demo`` (and tests) call this, on databases it made; taken usernames are
    skipped. The admin's password must meet the policy and gets the full hash; the others are
    generated at random and get the light one (see :data:`_demo_hasher`). Returns the number created.
    """
    names = [normalise(u) for u, _, _, _ in logins]
    keys = [username_key(n) for n in names]
    u = t.users
    taken = set(uow.conn.execute(select(u.c.username_key).where(u.c.username_key.in_(keys))).scalars())
    rows = []
    for name, key, (_, role, party, password) in zip(names, keys, logins, strict=True):
        if key in taken or role not in ROLES:
            continue
        taken.add(key)
        rows.append({"username": name, "username_key": key, "password_hash": _demo_hash(name, role, password),
                     "role": role, "party_id": party, "demo": True})
    if rows:
        uow.conn.execute(insert(u), rows)
        uow.audit("account.demo_logins_created", "accounts:demo", {"count": len(rows)})
    return len(rows)



def database_id(uow: UnitOfWork) -> str:
    """The database's random identity (made at first use; concurrent first uses agree)."""
    return account_store.database_id(uow.conn)


def demo_logins_sharing_a_password(conn: Connection) -> list[str]:
    """Usernames of demo logins whose password hash another login has too (an earlier demo
    gave every login one password)."""
    u = t.users
    shared = select(u.c.password_hash).group_by(u.c.password_hash).having(func.count() > 1)
    return list(conn.execute(select(u.c.username).where(u.c.demo, u.c.password_hash.in_(shared))
                             .order_by(u.c.id)).scalars())


def demo_logins(conn: Connection) -> list[tuple[str, str, int | None]]:
    """``(username, role, party_id)`` of every demo login, in the order they were made."""
    u = t.users
    return [(str(n), str(r), None if p is None else int(p)) for n, r, p in conn.execute(
        select(u.c.username, u.c.role, u.c.party_id).where(u.c.demo).order_by(u.c.id)).all()]


def demo_login_count(conn: Connection) -> int:
    """How many demo logins the database holds (none: not made by ``gongsheng demo``)."""
    return int(conn.execute(select(func.count()).select_from(t.users).where(t.users.c.demo)).scalar_one())


def parties_without_login(conn: Connection) -> list[tuple[int, str]]:
    """``(party_id, kind)`` of every party (never the platform) no login is bound to, by id."""
    u, p = t.users, t.parties
    return [(int(pid), str(kind)) for pid, kind in conn.execute(
        select(p.c.id, p.c.kind).select_from(p.outerjoin(u, u.c.party_id == p.c.id))
        .where(p.c.kind != "platform", u.c.id.is_(None)).order_by(p.c.id)).all()]


def has_login(conn: Connection, username: str) -> bool:
    """Whether a login of exactly this stored name exists."""
    return conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first() is not None


def reset_demo_passwords(uow: UnitOfWork, passwords: dict[str, str]) -> None:
    """Give demo logins new passwords (``username -> password``); ends their sessions."""
    u = t.users
    for name, password in passwords.items():
        row = uow.conn.execute(select(u.c.role).where(u.c.username == name, u.c.demo)).first()
        if row is None:
            continue
        uow.conn.execute(update(u).where(u.c.username == name).values(
            password_hash=_demo_hash(name, row.role, password),
            session_generation=u.c.session_generation + 1))


def _demo_hash(username: str, role: str, password: str) -> str:
    """A demo login's hash: the admin's password meets the policy and gets the full hash; the
    others are random (at least 12 characters) and get the light one."""
    if role == "admin":
        check_password(password, username)
        return hash_password(password)
    if len(password or "") < 12:
        raise InvalidInput("a demo password must have at least 12 characters")
    return str(_demo_hasher.hash(password))
