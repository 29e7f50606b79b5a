"""The books as a forecast sees them: state now, and the figures of the periods closed so far.

A :class:`BooksSnapshot` is read from the live books in O(groups + periods + merchants + regions)
(``views.forecast.snapshot``) and handed to the simulator's forecast, which calibrates a
scenario on it and runs forward from it. Plain values only (integers in fen and centi-points,
exact decimal strings for rates), so the snapshot crosses layers without carrying a database.

Invariants: ``history`` is in period order, one record per closed period; ``groups`` carry exact
cumulative fractions (scaled by ``release.SCALE``); every count is non-negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gongsheng.domain.release import GroupState


@dataclass(frozen=True)
class PeriodRecord:
    """The figures of one closed period that the calibration reads."""

    period: int
    gmv_fen: int
    gmv_mall_fen: int
    gmv_brand_fen: int
    orders: int
    active_consumers: int
    new_consumers: int
    registered_consumers: int
    merchants: int
    refunds_fen: int
    vouchers_spent_fen: int
    vouchers_outstanding_fen: int
    pool_available_fen: int
    pool_reserved_fen: int
    released_fen: int
    release_rate: int


@dataclass(frozen=True)
class MerchantMix:
    """The signed merchants: categories with their rates, channels, voucher opt-in, roles bound."""

    categories: tuple[tuple[str, str, int], ...]   # (category, concession rate, merchants)
    flagships: int
    accepting: int
    promoted: int
    bound: int
    bm_rates: tuple[tuple[str, int], ...]           # (contract rate, merchants)
    total: int                                      # merchants other than the mall
    mall_rate: str | None = None                    # the self-operated mall's concession rate
    in_held_regions: int | None = None              # of ``total``, in regions a partner holds


@dataclass(frozen=True)
class BooksSnapshot:
    """State and history of the books (see the module docstring)."""

    period: int                       # the open period
    policy: Mapping[str, Any]         # the open period's policy, as its source mapping
    policy_digest: str
    groups: tuple[GroupState, ...]    # started and pending release groups
    pool_available_fen: int
    pool_reserved_fen: int
    voucher_debt_fen: int             # vouchers taken back after being spent (>= 0)
    consumer_vouchers_fen: int        # vouchers released to consumers' groups, not yet spent
    merchant_vouchers_fen: int
    history: tuple[PeriodRecord, ...]
    registered_consumers: int
    referred_consumers: int
    homed_consumers: int
    merchants: MerchantMix
    regions: int                      # regions with a merchant universe
    universe_total: int
    held_regions: int                 # of those, held by an active partner
    partner_investment_fen: int = 0   # what active partners paid for their regions
    region_universes: tuple[tuple[int, bool], ...] = ()  # (universe, held) per region, largest first


__all__ = ["BooksSnapshot", "MerchantMix", "PeriodRecord"]
