"""Reading the books for a forecast: state now and the closed periods' figures (预测的输入).

:func:`snapshot` costs O(groups + closed periods + merchants + regions) queries' worth of rows,
plus one sum over voucher balances for the voucher debt; never a scan of orders or holders'
holdings. What it reads:

- the release groups (started and pending) with their exact fractions, the pool's available and
  reserved parts, and the voucher debt;
- vouchers outstanding split between merchants and consumers: the books record voucher spending
  only on orders, whose buyer is always a consumer, so merchants hold every voucher their groups
  (the merchants' cap multiple) have released and consumers the rest of the reserve (the vouchers
  released and not yet spent). Exact in O(groups) while the two multiples differ; a merchant's
  vouchers taken back by a refund's clawback would count as still held;
- the figures stored with every closed period (GMV by channel, orders, active and new consumers,
  refunds, vouchers spent and outstanding, pool, release and rate);
- the population: registered consumers and the shares referred and with a home merchant,
  merchants by category, rate, channel, voucher opt-in and roles (and how many are in regions
  a partner holds), each region's merchant universe and whether an active partner holds it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import system_balance
from gongsheng.adapters.period_store import open_period
from gongsheng.adapters.policy_store import policy_version
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, AccountKind, Asset
from gongsheng.domain.snapshot import BooksSnapshot, MerchantMix, PeriodRecord
from gongsheng.services.periods import groups_due


def _history(conn: Connection) -> tuple[PeriodRecord, ...]:
    rows = conn.execute(select(t.periods.c.seq, t.periods.c.figures, t.periods.c.release_rate)
                        .where(t.periods.c.status == "closed").order_by(t.periods.c.seq)).all()
    out = []
    for seq, raw, rate in rows:
        f = json.loads(raw) if raw else {}
        by_channel = f.get("gmv_by_channel_fen", {})
        out.append(PeriodRecord(
            period=int(seq), gmv_fen=int(f.get("gmv_fen", 0)),
            gmv_mall_fen=int(by_channel.get("mall", 0)), gmv_brand_fen=int(by_channel.get("brand", 0)),
            orders=int(f.get("orders", 0)), active_consumers=int(f.get("active_consumers", 0)),
            new_consumers=int(f.get("new_consumers", 0)),
            registered_consumers=int(f.get("registered_consumers", 0)),
            merchants=int(f.get("merchants", 0)), refunds_fen=int(f.get("refunds_fen", 0)),
            vouchers_spent_fen=int(f.get("vouchers_spent_fen", 0)),
            vouchers_outstanding_fen=int(f.get("vouchers_outstanding_fen", 0)),
            pool_available_fen=int(f.get("pool_available_fen", 0)),
            pool_reserved_fen=int(f.get("pool_reserved_fen", 0)),
            released_fen=int(f.get("released_fen", 0)), release_rate=int(rate or 0)))
    return tuple(out)


def _merchants(conn: Connection) -> MerchantMix:
    m = t.merchants
    active = m.c.active.is_(True)
    cats = conn.execute(select(m.c.category, m.c.concession_rate, func.count())
                        .where(active, m.c.channel != "mall")
                        .group_by(m.c.category, m.c.concession_rate)
                        .order_by(m.c.category, m.c.concession_rate)).all()
    bm = conn.execute(select(m.c.bm_rate, func.count()).where(active, m.c.bm_id.is_not(None))
                      .group_by(m.c.bm_rate).order_by(m.c.bm_rate)).all()

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(m).where(active, *where)).scalar_one())

    return MerchantMix(
        categories=tuple((str(c), str(r), int(n)) for c, r, n in cats),
        flagships=count(m.c.channel == "brand"),
        accepting=count(m.c.accepts_vouchers.is_(True), m.c.channel != "mall"),
        promoted=count(m.c.promoter_id.is_not(None)), bound=count(m.c.bm_id.is_not(None)),
        bm_rates=tuple((str(r), int(n)) for r, n in bm if r is not None),
        total=count(m.c.channel != "mall"),
        in_held_regions=count(m.c.channel != "mall", m.c.region_id.in_(_held_region_ids())),
        mall_rate=conn.execute(select(m.c.concession_rate).where(active, m.c.channel == "mall")
                               .order_by(m.c.party_id).limit(1)).scalar())


def _held_region_ids() -> Any:
    """The ids of the regions an active partner holds (a subquery)."""
    p = t.partners
    return select(p.c.region_id).where(p.c.active.is_(True)).scalar_subquery()


def _regions(conn: Connection) -> tuple[tuple[int, bool], ...]:
    """Each region with a merchant universe: (universe, held by an active partner), largest
    first (then by id)."""
    r = t.regions
    held = r.c.id.in_(_held_region_ids())
    rows = conn.execute(select(r.c.merchant_universe, held).where(r.c.merchant_universe > 0)
                        .order_by(r.c.merchant_universe.desc(), r.c.id)).all()
    return tuple((int(u), bool(h)) for u, h in rows)


def _voucher_debt(conn: Connection) -> int:
    b = t.balances
    debt = conn.execute(select(func.coalesce(func.sum(b.c.amount), 0)).where(
        b.c.asset == Asset.VCH.value,
        b.c.account_id % ACCOUNTS_PER_PARTY == AccountKind.VOUCHER_DEBT.code)).scalar_one()
    return -int(debt)


def snapshot(conn: Connection) -> BooksSnapshot:
    """The books as the forecast reads them (see the module docstring)."""
    current = open_period(conn)
    policy = policy_version(conn, current.policy_version_id)
    groups = tuple(groups_due(conn, current.seq + 1))
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    reserved = system_balance(conn, AccountKind.POOL_RESERVED)
    issued = {Decimal(mult): int(v) for mult, v in conn.execute(
        select(t.release_groups.c.multiple, func.sum(t.release_groups.c.issued_fen))
        .group_by(t.release_groups.c.multiple)).all()}
    merchants_released = sum(v for mult, v in issued.items() if mult != policy.consumer_cap_multiple)
    debt = _voucher_debt(conn)
    consumer_vch = max(0, reserved - merchants_released)
    c = t.consumers
    registered = int(conn.execute(select(func.count()).select_from(c)).scalar_one())
    referred = int(conn.execute(select(func.count()).select_from(c)
                                .where(c.c.referrer_id.is_not(None))).scalar_one())
    homed = int(conn.execute(select(func.count()).select_from(c)
                             .where(c.c.home_merchant_id.is_not(None))).scalar_one())
    p = t.partners
    regions = _regions(conn)
    return BooksSnapshot(
        period=current.seq, policy=dict(policy.source), policy_digest=policy.digest, groups=groups,
        pool_available_fen=available, pool_reserved_fen=reserved, voucher_debt_fen=debt,
        consumer_vouchers_fen=consumer_vch - debt, merchant_vouchers_fen=reserved - consumer_vch,
        history=_history(conn), registered_consumers=registered, referred_consumers=referred,
        homed_consumers=homed, merchants=_merchants(conn), regions=len(regions),
        universe_total=sum(u for u, _ in regions), held_regions=sum(h for _, h in regions),
        region_universes=regions,
        partner_investment_fen=int(conn.execute(
            select(func.coalesce(func.sum(p.c.investment_fen), 0)).where(p.c.active.is_(True))
        ).scalar_one()))


__all__ = ["snapshot"]
