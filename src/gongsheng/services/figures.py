"""The operator's figures of a period (MODEL.md section 8), computed at close from counters.

Every figure is read from striped counters, balances and release groups: O(counters + groups),
never a scan of orders or holders. The figures are stored with the closed period, so reports and
charts read them without recomputing anything.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import system_balance
from gongsheng.domain.figures import PaidParts, PeriodFigures, RegionCoverage, RiskFlag, share
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.money import ratio
from gongsheng.domain.policy import Policy
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal, released_to_date
from gongsheng.services.books import LIFETIME, counters


def unreleased_entitlement(conn: Connection) -> int:
    """Vouchers every holding may still release: sum over groups of cap - released (O(groups))."""
    gp, rg = t.group_points, t.release_groups
    totals = (select(gp.c.start_period, gp.c.multiple, func.sum(gp.c.points_cpts).label("pts"))
              .group_by(gp.c.start_period, gp.c.multiple).subquery())
    rows = conn.execute(
        select(totals.c.multiple, totals.c.pts, func.coalesce(rg.c.fraction, 0))
        .select_from(totals.outerjoin(rg, (rg.c.start_period == totals.c.start_period)
                                      & (rg.c.multiple == totals.c.multiple)))).all()
    out = 0
    for multiple, pts, fraction in rows:
        num, den = ratio(Decimal(multiple))
        out += int(released_to_date(int(pts), num, den, SCALE)) - int(
            released_to_date(int(pts), num, den, int(fraction)))
    return out


def coverage_by_region(conn: Connection, lifetime: dict[str, int]) -> list[RegionCoverage]:
    """Every region's merchants active to date (lifetime counters) against its universe."""
    rows = conn.execute(select(t.regions.c.id, t.regions.c.name, t.regions.c.merchant_universe)).all()
    out = []
    for rid, name, universe in rows:
        active = lifetime.get(f"merchants:region:{rid}", 0)
        out.append(RegionCoverage(int(rid), name, active, int(universe), share(active, int(universe))))
    return out


def period_figures(conn: Connection, seq: int, policy: Policy, rate: int, nominal: int,
                   released: int, unfunded: int) -> PeriodFigures:
    """The figures of period ``seq`` as of its close."""
    c = counters(conn, seq)
    life = counters(conn, LIFETIME)
    gmv = c.get("gmv_fen", 0)
    orders = c.get("orders", 0)
    active = c.get("active_consumers", 0)
    concession = c.get("concession_fen", 0)
    paid = PaidParts.from_counters(c, policy)
    platform = paid.by_recipient.platform
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    reserved = system_balance(conn, AccountKind.POOL_RESERVED)
    outstanding = reserved  # the reserve always equals the vouchers released and not yet spent
    regions = coverage_by_region(conn, life)
    entitlement = unreleased_entitlement(conn)
    flags = []
    if rate < nominal and entitlement > 0:
        flags.append(RiskFlag("release_below_nominal",
                              f"release rate {rate_as_decimal(rate):.6f} below nominal "
                              f"{rate_as_decimal(nominal):.6f} of cap per period"))
    for r in regions:
        if r.coverage is not None and Decimal(r.coverage) > policy.coverage_warning:
            flags.append(RiskFlag("coverage_above_threshold",
                                  f"region {r.name} coverage {r.coverage} above "
                                  f"{policy.coverage_warning}"))
    if outstanding > 0 and available + reserved < outstanding:
        flags.append(RiskFlag("pool_coverage_below_1",
                              f"pool {available + reserved} fen covers outstanding vouchers "
                              f"{outstanding} fen less than once"))
    if unfunded:
        flags.append(RiskFlag("unfunded_release",
                              f"{unfunded} fen released beyond what the pool held (promise)"))
    return PeriodFigures(
        period=seq, controller=policy.release.controller.value,
        nominal_periods=-(-SCALE // nominal) if nominal else 0,
        gmv_fen=gmv, gmv_by_channel_fen={k.split(":", 1)[1]: v for k, v in c.items()
                                         if k.startswith("gmv_fen:")},
        orders=orders, average_order_fen=gmv // orders if orders else 0,
        registered_consumers=life.get("consumers", 0), new_consumers=c.get("new_consumers", 0),
        active_consumers=active, purchases_per_active_consumer=share(orders, active),
        merchants=life.get("merchants", 0),
        merchants_by_channel={k.rsplit(":", 1)[1]: v for k, v in life.items()
                              if k.startswith("merchants:channel:")},
        regions=tuple(regions),
        concession_fen=concession, platform_revenue_fen=platform,
        incentives_fen=paid.incentives_by_part, paid_by_recipient_fen=paid.by_recipient,
        pool_in_fen=c.get("pool_in_fen", 0), vacant_to_pool_fen=c.get("vacant_to_pool_fen", 0),
        vouchers_spent_fen=c.get("vouchers_spent_fen", 0),
        refunds_fen=c.get("refunds_fen", 0), payouts_fen=c.get("payouts_fen", 0),
        released_fen=released, unfunded_fen=unfunded,
        pool_available_fen=available, pool_reserved_fen=reserved,
        vouchers_outstanding_fen=outstanding, unreleased_entitlement_fen=entitlement,
        release_rate=str(rate_as_decimal(rate)), nominal_rate=str(rate_as_decimal(nominal)),
        periods_to_complete_at_rate=periods_to_complete(0, rate),
        platform_share=share(platform, concession),
        users_share=share(concession - platform, concession),
        risk_flags=tuple(flags))
