"""Freezes (冻结) of parties: a freeze is open until the party is unfrozen; a party has at most
one open freeze, and the freezes that ended stay as its history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class FreezeRecord:
    """One freeze: who froze the party, why and when; who ended it and when (None while open)."""

    id: int
    party_id: int
    reason: str
    frozen_by: str
    frozen_at: dt.datetime
    unfrozen_by: str | None
    unfrozen_at: dt.datetime | None
