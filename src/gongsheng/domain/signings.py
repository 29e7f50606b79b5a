"""A merchant's signing: signed by an admin, a BM or a promoter, it waits ``pending`` until the
operator approves or rejects it, once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signing:
    """A merchant's signing as a decision needs it: its status and the merchant's channel and region."""

    merchant_id: int
    status: str
    channel: str
    region_id: int
