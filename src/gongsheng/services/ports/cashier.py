"""What the merchant's cashier reads: the merchant's till and the consumer's live pay codes."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class CashierStore(Protocol):
    """Read only: a sale's writes (the order, using the pay code up) are the order store's. A
    pay code is live until it is used or expires, and is for one consumer and at most one
    merchant (none: any merchant)."""

    def till(self, merchant_id: int) -> tuple[str, bool] | None:
        """``(channel, accepts vouchers)`` of a merchant; None for no such merchant."""
        ...

    def code_limit(self, code_hash: str, consumer_id: int, merchant_id: int,
                   now: dt.datetime) -> int | None:
        """The voucher cap of the consumer's pay code of this hash if live at ``now`` and usable
        at this merchant; None otherwise."""
        ...
