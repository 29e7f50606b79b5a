"""What one simulated run yields: the operator's figures per period and the run's distributions.

Money figures are in fen (float64 arrays, exact integers in ``exact`` mode), counts are real
(weighted) counts, rates are fractions. Every figure of MODEL.md section 8 appears here, plus
the pool's accounting (inflow, release posted, rounding remainder) the answers need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]

#: Every per-period figure: key -> (label, unit). Units: fen, count, rate, periods, flag.
FIGURES: dict[str, tuple[str, str]] = {
    "gmv": ("GMV 流水", "fen"),
    "orders": ("orders", "count"),
    "aov": ("average order value 客单价", "fen"),
    "registered": ("registered consumers", "count"),
    "active": ("active consumers (ordered this period)", "count"),
    "purchases_per_active": ("purchases per active consumer", "rate"),
    "merchants": ("merchants", "count"),
    "merchants_brand": ("merchants: brand flagship", "count"),
    "merchants_alliance": ("merchants: alliance", "count"),
    "coverage": ("merchant coverage", "rate"),
    "mall_gmv": ("GMV at the self-operated mall", "fen"),
    "concession": ("concession income 让利", "fen"),
    "platform_revenue": ("platform revenue", "fen"),
    "partner_dividend": ("partner dividends", "fen"),
    "ground_commission": ("ground promoter commissions", "fen"),
    "bm_commission": ("BM commissions", "fen"),
    "acquisition_reward": ("merchant acquisition rewards", "fen"),
    "vacant_to_pool": ("parts of vacant roles paid to the pool", "fen"),
    "pool_inflow": ("pool inflow from the period's concessions", "fen"),
    "vouchers_spent": ("vouchers spent", "fen"),
    "voucher_cost": ("cost of vouchers spent to the pool", "fen"),
    "points_issued": ("points issued", "fen"),
    "referral_points": ("referral points issued", "fen"),
    "release": ("vouchers released (posted)", "fen"),
    "release_rate": ("release rate (fraction of cap)", "rate"),
    "nominal_rate": ("nominal rate 1/N", "rate"),
    "periods_at_rate": ("periods a new holding takes at this rate", "periods"),
    "pool_available": ("pool available", "fen"),
    "pool_reserved": ("pool reserved", "fen"),
    "vouchers_outstanding": ("vouchers outstanding", "fen"),
    "rounding_remainder": ("release rounding remainder (in the pool)", "fen"),
    "unreleased": ("unreleased entitlement", "fen"),
    "pool_coverage": ("pool coverage of outstanding vouchers", "rate"),
    "pool_coverage_before_close": ("pool coverage of outstanding vouchers before the close's release",
                                   "rate"),
    "unfunded": ("release beyond what the pool held (promise)", "fen"),
    "pool_deficit": ("pool deficit to date (available below zero)", "fen"),
    "users_share": ("users' share of the concession (80/20)", "rate"),
    "funded_by_new": ("share of release funded by the period's new concessions", "rate"),
    "flag_slow_release": ("risk: release slower than nominal", "flag"),
    "flag_coverage": ("risk: coverage above the warning level", "flag"),
    "flag_pool_short": ("risk: pool coverage below 1", "flag"),
    "abuse_rings_signed": ("wash-trading rings signed to date 刷单", "count"),
    "abuse_rings": ("wash-trading rings active (ordering)", "count"),
    "abuse_detected": ("wash-trading rings detected", "count"),
    "abuse_gmv": ("wash-trading GMV (included in GMV)", "fen"),
    "abuse_concession": ("concessions paid by rings", "fen"),
    "abuse_pool_inflow": ("pool inflow from rings' orders", "fen"),
    "abuse_points": ("points issued to rings (consumer + merchant side)", "fen"),
    "abuse_released": ("vouchers released to rings (included in release)", "fen"),
    "abuse_cashed": ("rings' releases cashed after the hold", "fen"),
    "abuse_held": ("rings' releases still held", "fen"),
    "abuse_forfeited_held": ("held releases forfeited on detection", "fen"),
    "abuse_forfeited_unreleased": ("rings' unreleased entitlement cancelled on detection", "fen"),
}


@dataclass(frozen=True)
class RunResult:
    """One run: per-period figures and the distributions the answers need.

    ``completion[k]``: release periods a holding earned in period k takes to complete (actual, or
    projected at the last rate when unfinished; ``inf`` when the rate fell to zero).
    ``partner_dividend``, ``partner_team``: the last year's (12 periods, or all) dividends and
    team commissions of every region held by a partner (fen). ``bm_income``: the same per BM.
    """

    scenario: str
    mode: str
    seed: int
    figures: dict[str, Arr]
    completion: Arr
    partner_dividend: Arr
    partner_team: Arr
    bm_income: Arr
    year_periods: int

    @property
    def periods(self) -> int:
        return len(self.figures["gmv"])


def empty_figures(periods: int) -> dict[str, Arr]:
    return {key: np.full(periods, np.nan) for key in FIGURES}
