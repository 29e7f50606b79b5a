"""Share programmes of the shared-shareholder store (共享股东).

Invariants: ``0 <= units_sold <= units_offered``; ``profit_share`` is an exact decimal in (0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Programme:
    id: int
    merchant_id: int
    unit_price_cpts: int
    units_offered: int
    units_sold: int
    profit_share: str

