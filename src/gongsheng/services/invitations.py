"""Invitations: one-time links by which a new login chooses its own password.

The platform never sends or shows a password. A login for a party is made by an invitation:
a random token (shown once, as a link) whose SHA-256 alone is stored. Invariants: a token is
accepted at most once (the row is marked used in the transaction that creates the login) and
never after it expires; an unknown, used or expired token gets one and the same answer, so the
answer tells nothing about other parties' links; a party has at most one login.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import AlreadyHeld, InvalidInput, NotFound
from gongsheng.services import accounts
from gongsheng.services.unit_of_work import UnitOfWork

DEFAULT_HOURS = 72
MAX_HOURS = 24 * 30
INVALID = "this invitation link is not valid: it is unknown, already used or expired"


@dataclass(frozen=True)
class Invitation:
    """An open invitation: the role and party its login will have, and when it expires."""

    invitation_id: int
    role: str
    party_id: int | None
    party_name: str | None
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation with its token (shown once: only its hash is stored)."""

    invitation_id: int
    token: str
    role: str
    party_id: int | None
    expires_at: dt.datetime

    @property
    def path(self) -> str:
        return f"/invite/{self.token}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def has_login(conn: Connection, party_id: int) -> bool:
    return conn.execute(select(t.users.c.id).where(t.users.c.party_id == party_id)).first() is not None


def invite(uow: UnitOfWork, party_id: int, created_by: str, hours: int = DEFAULT_HOURS) -> IssuedInvitation:
    """An invitation for ``party_id``'s login (its role is the party's kind)."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"an invitation lasts 1 to {MAX_HOURS} hours")
    conn = uow.conn
    kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar()
    if kind is None or kind not in accounts.ROLES:
        raise NotFound(f"party {party_id} does not exist")
    if has_login(conn, party_id):
        raise AlreadyHeld(f"party {party_id} already has a login")
    token = secrets.token_urlsafe(24)
    expires = _now() + dt.timedelta(hours=hours)
    new_id = conn.execute(insert(t.invitations).returning(t.invitations.c.id), {
        "token_hash": _hash(token), "role": kind, "party_id": party_id,
        "created_by": created_by, "expires_at": expires}).scalar_one()
    uow.audit("invitation.issued", f"party:{party_id}", {
        "invitation_id": int(new_id), "role": str(kind), "expires_at": expires.isoformat()})
    return IssuedInvitation(int(new_id), token, str(kind), party_id, expires)


def open_invitation(conn: Connection, token: str) -> Invitation:
    """The invitation a token names, if unused and unexpired; :class:`NotFound` otherwise."""
    row = conn.execute(select(t.invitations, t.parties.c.name)
                       .select_from(t.invitations.outerjoin(
                           t.parties, t.parties.c.id == t.invitations.c.party_id))
                       .where(t.invitations.c.token_hash == _hash(token or ""))).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= _now():
        raise NotFound(INVALID)
    return Invitation(int(row.id), row.role, row.party_id, row.name, _aware(row.expires_at))


def accept(uow: UnitOfWork, token: str, username: str, password: str) -> accounts.Account:
    """Create the invited login with the password its owner chose; the link is then spent."""
    found = open_invitation(uow.conn, token)
    spent = uow.conn.execute(update(t.invitations).where(
        t.invitations.c.id == found.invitation_id, t.invitations.c.used_at.is_(None))
        .values(used_at=_now())).rowcount
    if spent != 1:  # a concurrent acceptance won
        raise NotFound(INVALID)
    if found.party_id is not None and has_login(uow.conn, found.party_id):
        raise AlreadyHeld(f"party {found.party_id} already has a login")
    account = accounts.create_account(uow, username, password, found.role, found.party_id)
    uow.conn.execute(update(t.invitations).where(t.invitations.c.id == found.invitation_id)
                     .values(user_id=account.id))
    return account
