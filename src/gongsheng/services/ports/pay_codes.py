"""Pay codes as issued and revoked (an order uses one through ``OrderStore.use_pay_code``)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class PayCodeStore(Protocol):
    """Only a code's hash is stored; a code is live while unused and unexpired, and retiring
    or revoking one sets its expiry to the moment it happened (it is never deleted). A
    consumer's issues are serialised by :meth:`lock_consumer`."""

    def lock_consumer(self, consumer_id: int) -> bool:
        """Lock the consumer's row to the end of the transaction; whether the consumer exists."""
        ...

    def merchant_acceptance(self, merchant_id: int) -> tuple[bool, bool] | None:
        """``(active, accepts vouchers)`` of a merchant; None for no such merchant."""
        ...

    def retire_beyond(self, consumer_id: int, keep: int, at: dt.datetime) -> None:
        """Expire at ``at`` the consumer's live codes beyond its ``keep`` newest."""
        ...

    def add(self, code_hash: str, consumer_id: int, merchant_id: int | None, max_voucher_fen: int,
            expires_at: dt.datetime) -> None:
        ...

    def revoke(self, consumer_id: int, at: dt.datetime) -> int:
        """Expire at ``at`` every live code of the consumer; how many there were."""
        ...
