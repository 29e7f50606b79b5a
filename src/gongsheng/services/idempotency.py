"""Idempotency keys: the same key with the same body returns the first result; another body, 409.

A request's body is hashed canonically (sorted JSON). Every value-moving table (orders, refunds,
payouts) has a unique ``idem_key`` column, so a key can never be posted twice, even by writers
racing each other: the loser's insert fails, its transaction rolls back, and it reads the winner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from gongsheng.domain.errors import IdempotencyConflict, InvalidInput

MAX_KEY = 200


def request_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key or not key.strip():
        raise InvalidInput("an Idempotency-Key is required for a write that moves value")
    if len(key) > MAX_KEY:
        raise InvalidInput(f"Idempotency-Key is longer than {MAX_KEY} characters")
    return key


def same_request(stored_hash: str, body_hash: str, key: str) -> None:
    """Raise :class:`IdempotencyConflict` when a key comes back with another body."""
    if stored_hash != body_hash:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used with a different request body"
        )


def positive_fen(value: object, what: str) -> int:
    """``value`` as a positive amount of fen, or :class:`InvalidInput` naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{what} amount_fen must be a positive integer")
    return value
