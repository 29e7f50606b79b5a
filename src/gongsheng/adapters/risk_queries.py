"""The risk detectors' reads: each looks at one period's orders or its recent refunds.

Every query goes through an index (the heavy buyers' ``buyer:orders`` totals, a consumer's
orders, the refunds' period, the consumers' referrer) and returns at most ``limit`` rows; none
scans the whole history or the open period's orders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, literal, select

from gongsheng.adapters import tables as t
from gongsheng.domain.party_totals import BUYER_ORDERS, IDLE_REFEREES, LIFETIME

_BUYERS = t.party_period_totals  # its rows named in ix_party_period_totals_risk


def _named(name: str) -> Any:
    """``name`` written into the statement, not bound: the planner then proves the partial
    index's predicate even in a prepared statement's generic plan."""
    return literal(name, literal_execute=True)


def _heavy_buyers(period: int, at_least: int) -> Any:
    """Consumers with ``>= at_least`` orders in ``period`` and their count: their
    ``buyer:orders`` totals (one row each, stripe 0), read through the partial index."""
    b = _BUYERS
    return select(b.c.party_id, b.c.value).where(
        b.c.name == _named(BUYER_ORDERS), b.c.period == period, b.c.value >= at_least)


def order_bursts(conn: Connection, period: int, above: int, limit: int) -> list[tuple[int, int]]:
    """``(consumer, orders)`` of consumers with more than ``above`` orders in ``period``."""
    rows = conn.execute(_heavy_buyers(period, above + 1).limit(limit))
    return [(int(c), int(n)) for c, n in rows]


def single_merchant_buyers(conn: Connection, period: int, at_least: int,
                           limit: int) -> list[tuple[int, int, int]]:
    """``(consumer, merchant, orders)``: consumers whose ``>= at_least`` orders of ``period``
    were all at one merchant. The candidates are the period's heavy buyers (index); only their
    orders are read (by consumer), never the period's."""
    o = t.orders
    out: list[tuple[int, int, int]] = []
    candidates = [int(c) for c, _ in conn.execute(_heavy_buyers(period, at_least)).all()]
    for start in range(0, len(candidates), 500):
        chunk = candidates[start:start + 500]
        per: dict[int, list[tuple[int, int]]] = {}
        for c, m, n in conn.execute(
                select(o.c.consumer_id, o.c.merchant_id, func.count())
                .where(o.c.consumer_id.in_(chunk), o.c.period == period)
                .group_by(o.c.consumer_id, o.c.merchant_id)).all():
            per.setdefault(int(c), []).append((int(m), int(n)))
        for c in chunk:
            if len(per.get(c, ())) == 1:
                out.append((c, *per[c][0]))
                if len(out) >= limit:
                    return out
    return out


def idle_referees(conn: Connection, at_least: int, limit: int) -> list[tuple[int, int]]:
    """``(referrer, referees)``: referrers of ``>= at_least`` consumers who never ordered (their
    ``referees:idle`` totals, through the partial index; never a scan of the consumers)."""
    b = _BUYERS
    rows = conn.execute(select(b.c.party_id, b.c.value).where(
        b.c.name == _named(IDLE_REFEREES), b.c.period == LIFETIME, b.c.value >= at_least).limit(limit))
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
