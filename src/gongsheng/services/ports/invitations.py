"""Invitations: one-time links by which a party's first login is made."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from gongsheng.domain.invitations import StoredInvitation


class InvitationStore(Protocol):
    """A token is stored by its hash alone; an invitation is spent at most once (spending is
    conditional on its being unspent)."""

    def has_login(self, party_id: int) -> bool:
        """Whether a login is bound to the party."""
        ...

    def add(self, token_hash: str, role: str, party_id: int, created_by: str,
            expires_at: dt.datetime) -> int:
        """Store a new invitation; its id."""
        ...

    def by_token_hash(self, token_hash: str) -> StoredInvitation | None:
        ...

    def spend(self, invitation_id: int, at: dt.datetime) -> bool:
        """Mark the invitation used if it is not; whether it was not."""
        ...

    def bind_login(self, invitation_id: int, user_id: int) -> None:
        """Note the login the spent invitation made."""
        ...
