"""The risk detectors' reads: each looks at one period's orders or its recent refunds.

Every query goes through an index (``ix_orders_period``, the refunds' period, the consumers'
referrer) and returns at most ``limit`` rows; none scans the whole history.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, select

from gongsheng.adapters import tables as t


def order_bursts(conn: Connection, period: int, above: int, limit: int) -> list[tuple[int, int]]:
    """``(consumer, orders)`` of consumers with more than ``above`` orders in ``period``."""
    o = t.orders
    rows = conn.execute(
        select(o.c.consumer_id, func.count()).where(o.c.period == period)
        .group_by(o.c.consumer_id).having(func.count() > above).limit(limit))
    return [(int(c), int(n)) for c, n in rows]


def single_merchant_buyers(conn: Connection, period: int, at_least: int,
                           limit: int) -> list[tuple[int, int, int]]:
    """``(consumer, merchant, orders)``: consumers whose ``>= at_least`` orders of ``period``
    were all at one merchant."""
    o = t.orders
    per_pair = (select(o.c.consumer_id, o.c.merchant_id, func.count().label("n"))
                .where(o.c.period == period).group_by(o.c.consumer_id, o.c.merchant_id).subquery())
    per_consumer = (select(o.c.consumer_id, func.count().label("n")).where(o.c.period == period)
                    .group_by(o.c.consumer_id).subquery())
    rows = conn.execute(
        select(per_pair.c.consumer_id, per_pair.c.merchant_id, per_pair.c.n)
        .select_from(per_pair.join(per_consumer,
                                   per_consumer.c.consumer_id == per_pair.c.consumer_id))
        .where(and_(per_pair.c.n >= at_least, per_pair.c.n == per_consumer.c.n)).limit(limit))
    return [(int(c), int(m), int(n)) for c, m, n in rows]


def idle_referees(conn: Connection, at_least: int, limit: int) -> list[tuple[int, int]]:
    """``(referrer, referees)``: referrers of ``>= at_least`` consumers who never ordered."""
    c = t.consumers
    rows = conn.execute(
        select(c.c.referrer_id, func.count()).where(c.c.referrer_id.is_not(None),
                                                    c.c.first_order_key.is_(None))
        .group_by(c.c.referrer_id).having(func.count() >= at_least).limit(limit))
    return [(int(r), int(n)) for r, n in rows]


def refunds_after_release(conn: Connection, since_period: int,
                          limit: int) -> list[tuple[int, int, int]]:
    """``(consumer, refunds, vouchers taken back)`` of refunds since ``since_period`` that
    clawed back released vouchers."""
    o, r = t.orders, t.refunds
    rows = conn.execute(
        select(o.c.consumer_id, func.count(), func.sum(r.c.clawback_fen))
        .select_from(r.join(o, o.c.id == r.c.order_id))
        .where(r.c.period >= since_period, r.c.clawback_fen > 0)
        .group_by(o.c.consumer_id).limit(limit))
    return [(int(cid), int(n), int(v)) for cid, n, v in rows]


def merchant_purchases(conn: Connection, period: int) -> list[tuple[int, int]]:
    """``(buyer merchant, seller merchant)``: in ``period``, a consumer connected to the buyer
    (one component of the shared-identifier graph) ordered at the seller. Each of the period's
    orders is joined to its consumer's component row by key; most consumers have none."""
    o, cc, mc, m = (t.orders, t.risk_components, t.risk_components.alias("mc"), t.merchants)
    rows = conn.execute(
        select(mc.c.party_id, o.c.merchant_id).distinct()
        .select_from(o.join(cc, cc.c.party_id == o.c.consumer_id)
                     .join(mc, mc.c.root_id == cc.c.root_id)
                     .join(m, m.c.party_id == mc.c.party_id))
        .where(o.c.period == period, mc.c.party_id != o.c.merchant_id))
    return [(int(a), int(b)) for a, b in rows]
