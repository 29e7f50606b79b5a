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

from gongsheng.domain.errors import AlreadyHeld, InvalidInput, NotFound
from gongsheng.services import accounts
from gongsheng.services.ports.work import Stores, Work
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


def invite(uow: Work, party_id: int, created_by: str, hours: int = DEFAULT_HOURS) -> IssuedInvitation:
    """An invitation for ``party_id``'s login (its role is the party's kind)."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"an invitation lasts 1 to {MAX_HOURS} hours")
    kind = uow.parties.kind(party_id)
    if kind is None or kind not in accounts.ROLES:
        raise NotFound(f"party {party_id} does not exist")
    if uow.invitations.has_login(party_id):
        raise AlreadyHeld(f"party {party_id} already has a login")
    token = secrets.token_urlsafe(24)
    expires = _now() + dt.timedelta(hours=hours)
    new_id = uow.invitations.add(_hash(token), kind, party_id, created_by, expires)
    uow.audit("invitation.issued", f"party:{party_id}", {
        "invitation_id": new_id, "role": kind, "expires_at": expires.isoformat()})
    return IssuedInvitation(new_id, token, kind, party_id, expires)


def open_invitation(stores: Stores, token: str) -> Invitation:
    """The invitation a token names, if unused and unexpired; :class:`NotFound` otherwise."""
    row = stores.invitations.by_token_hash(_hash(token or ""))
    if row is None or row.used or row.expires_at <= _now():
        raise NotFound(INVALID)
    return Invitation(row.invitation_id, row.role, row.party_id, row.party_name, row.expires_at)


def accept(uow: UnitOfWork, token: str, username: str, password: str) -> accounts.Account:
    """Create the invited login with the password its owner chose; the link is then spent."""
    found = open_invitation(uow, token)
    if not uow.invitations.spend(found.invitation_id, _now()):  # a concurrent acceptance won
        raise NotFound(INVALID)
    if found.party_id is not None and uow.invitations.has_login(found.party_id):
        raise AlreadyHeld(f"party {found.party_id} already has a login")
    account = accounts.create_account(uow, username, password, found.role, found.party_id)
    uow.invitations.bind_login(found.invitation_id, account.id)
    return account
