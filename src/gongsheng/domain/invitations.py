"""An invitation as stored: the one-time link to a party's first login, kept by its token's hash."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredInvitation:
    """An invitation as stored (its token is not: only the token's hash). ``expires_at`` is aware,
    in UTC; ``used``: it has made a login and opens nothing any more."""

    invitation_id: int
    role: str
    party_id: int | None
    party_name: str | None
    expires_at: dt.datetime
    used: bool
