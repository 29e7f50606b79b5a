"""Idempotent requests: the rows a keyed write stores once under its key."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.payouts import PayoutRecord


class RequestStore(Protocol):
    """A key is stored at most once per kind of request (a unique key: of two writers racing
    with one key, the second one's write fails and its transaction rolls back); a stored row
    never changes."""

    def payout(self, key: str) -> PayoutRecord | None:
        ...

    def add_payout(self, key: str, request_hash: str, party_id: int, amount_fen: int,
                   period: int, balance_after_fen: int) -> int:
        """Store a payout under ``key``; its id (ids grow)."""
        ...

    def close_request(self, key: str) -> tuple[int, str | None] | None:
        """``(period closed, request hash)`` of a close asked with ``key`` (the hash None for a
        request stored before requests were hashed)."""
        ...

    def add_close_request(self, key: str, period: int, request_hash: str) -> None:
        ...

    def action(self, key: str) -> tuple[str, str] | None:
        """``(request hash, answer as JSON)`` of an action stored under ``key``."""
        ...

    def add_action(self, key: str, action: str, request_hash: str, answer: str) -> None:
        """Store an action's answer (JSON) under ``key``."""
        ...
