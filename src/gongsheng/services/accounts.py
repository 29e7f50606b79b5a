"""Login accounts: usernames, argon2 password hashes, roles bound to parties.

Invariants: usernames are unique; a password is stored only as an argon2 hash; every non-admin
account is bound to a party of its role's kind; an admin is bound to none.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import AlreadyHeld, InvalidInput, NotFound, Unauthorized
from gongsheng.services.unit_of_work import UnitOfWork

ROLES = ("admin", "consumer", "merchant", "bm", "partner", "promoter")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    party_id: int | None


def create_account(uow: UnitOfWork, username: str, password: str, role: str,
                   party_id: int | None = None, *, demo: bool = False) -> Account:
    """Create a login; refused for a taken username, a short password or a role/party mismatch."""
    username = (username or "").strip()
    if not username or len(username) > 100:
        raise InvalidInput("username must be 1 to 100 characters")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    conn = uow.conn
    if role == "admin":
        party_id = None
    else:
        kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar()
        if kind is None:
            raise NotFound(f"party {party_id} does not exist")
        if kind != role:
            raise InvalidInput(f"party {party_id} is a {kind}, not a {role}")
    if conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
        raise AlreadyHeld(f"username {username!r} is taken")
    new_id = conn.execute(insert(t.users).returning(t.users.c.id), {
        "username": username, "password_hash": _hasher.hash(password), "role": role,
        "party_id": party_id, "demo": demo}).scalar_one()
    return Account(int(new_id), username, role, party_id)


def authenticate(conn: Connection, username: str, password: str) -> Account:
    """The account whose password this is; :class:`Unauthorized` otherwise (same message either way)."""
    row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
    if row is None:
        _hasher.hash(password or "x")  # same work whether or not the user exists
        raise Unauthorized("unknown username or wrong password")
    try:
        _hasher.verify(row.password_hash, password or "")
    except (VerifyMismatchError, VerificationError):
        raise Unauthorized("unknown username or wrong password") from None
    return Account(int(row.id), row.username, row.role, row.party_id)


def create_demo_accounts(uow: UnitOfWork, logins: list[tuple[str, str, int | None]],
                         password: str) -> int:
    """Logins ``(username, role, party_id)`` marked ``demo``, all with one password hashed once.

    Only ``gongsheng demo`` calls this, on databases it made; taken usernames are skipped.
    Returns the number created.
    """
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    taken = set(uow.conn.execute(select(t.users.c.username)
                                 .where(t.users.c.username.in_([u for u, _, _ in logins]))).scalars())
    rows = [{"username": u, "password_hash": "", "role": r, "party_id": p, "demo": True}
            for u, r, p in logins if u not in taken and r in ROLES]
    if rows:
        hashed = _hasher.hash(password)
        for row in rows:
            row["password_hash"] = hashed
        uow.conn.execute(insert(t.users), rows)
    return len(rows)


def change_password(uow: UnitOfWork, username: str, current: str, new: str) -> None:
    """Replace a login's password after checking the current one (same refusal as sign-in)."""
    account = authenticate(uow.conn, username, current)
    if len(new or "") < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    uow.conn.execute(t.users.update().where(t.users.c.id == account.id)
                     .values(password_hash=_hasher.hash(new)))
