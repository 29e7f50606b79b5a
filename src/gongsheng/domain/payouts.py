"""Payouts as the books keep them: one row per idempotency key, never changed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PayoutRecord:
    """A payout as stored under its idempotency key (``balance_after_fen`` None for old rows)."""

    id: int
    party_id: int
    amount_fen: int
    balance_after_fen: int | None
    request_hash: str
