"""The evidence of a period's compliance attestation, read from the books (SQL only here).

Every query reads one closed period: its orders (``orders.period``) and its journal entries by
the period's sealed id range (the primary keys), so an attestation costs O(the period), never
O(history). A party's accounts are ``party_id * ACCOUNTS_PER_PARTY + kind`` (``domain/ledger.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from gongsheng.adapters import tables as t
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, PLATFORM_PARTY_ID, AccountKind


def _party(column: Any) -> Any:
    return column // literal(ACCOUNTS_PER_PARTY)


def _kind(column: Any) -> Any:
    return column % literal(ACCOUNTS_PER_PARTY)


def referral_rewards(conn: Connection, period: int) -> dict[str, int]:
    """Orders, referral rewards and those not paid to the buyer's own direct referrer."""
    o, c = t.orders, t.consumers
    rewarded = o.c.referrer_cpts > 0
    wrong = rewarded & (c.c.referrer_id.is_(None) | (o.c.referrer_id != c.c.referrer_id)
                        | o.c.referrer_id.is_(None))
    row = conn.execute(select(
        func.count(), func.sum(case((rewarded, 1), else_=0)),
        func.coalesce(func.sum(case((rewarded, o.c.referrer_cpts), else_=0)), 0),
        func.sum(case((wrong, 1), else_=0)))
        .select_from(o.outerjoin(c, c.c.party_id == o.c.consumer_id))
        .where(o.c.period == period)).one()
    return {"orders": int(row[0]), "referral_rewards": int(row[1] or 0),
            "referral_points_cpts": int(row[2] or 0), "not_direct": int(row[3] or 0)}


def order_allocations(conn: Connection, period: int) -> Iterator[tuple[int, int, int, int | None,
                                                                       int | None, int | None,
                                                                       list[Any]]]:
    """``(order, region, merchant, merchant's BM, merchant's promoter, consumer's home
    merchant, allocations)`` of each order of ``period``, streamed."""
    o, m, c = t.orders, t.merchants, t.consumers
    rows = conn.execute(  # the option on the statement: set on ``conn``, it would stay for all
        select(o.c.id, o.c.region_id, o.c.merchant_id, m.c.bm_id, m.c.promoter_id,
               c.c.home_merchant_id, o.c.allocations)
        .select_from(o.outerjoin(m, m.c.party_id == o.c.merchant_id)
                     .outerjoin(c, c.c.party_id == o.c.consumer_id))
        .where(o.c.period == period).execution_options(yield_per=5000))
    for r in rows:
        yield (int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5], json.loads(r[6]))


def partner_regions(conn: Connection) -> dict[int, int]:
    """Each partner's region (one region per partner, for every term it held)."""
    p = t.partners
    return {int(a): int(b) for a, b in conn.execute(select(p.c.party_id, p.c.region_id)).all()}


def entry_kinds(conn: Connection, first_id: int, last_id: int) -> dict[str, int]:
    e = t.journal_entries
    return {str(k): int(n) for k, n in conn.execute(
        select(e.c.kind, func.count()).where(e.c.id.between(first_id, last_id))
        .group_by(e.c.kind)).all()}


def consumer_cash_postings(conn: Connection, first_id: int, last_id: int) -> tuple[int, int]:
    """Postings of money on a consumer's own accounts (a fee would be one): count and net sum."""
    p, pt = t.postings, t.parties
    row = conn.execute(select(func.count(), func.coalesce(func.sum(p.c.amount), 0))
                       .select_from(p.join(pt, pt.c.id == _party(p.c.account_id)))
                       .where(p.c.entry_id.between(first_id, last_id), p.c.asset == "CNY",
                              pt.c.kind == "consumer")).one()
    return int(row[0]), int(row[1])


def revenue_outside_orders(conn: Connection, first_id: int, last_id: int) -> int:
    """Platform revenue legs in entries other than orders and refunds (a join fee would be one)."""
    p, e = t.postings, t.journal_entries
    revenue = PLATFORM_PARTY_ID * ACCOUNTS_PER_PARTY + AccountKind.PLATFORM_REVENUE.code
    return int(conn.execute(select(func.count()).select_from(p.join(e, e.c.id == p.c.entry_id))
                            .where(p.c.entry_id.between(first_id, last_id),
                                   p.c.account_id == revenue,
                                   e.c.kind.not_in(("order", "refund")))).scalar_one())


def points_to_cash_or_transfer(conn: Connection, first_id: int, last_id: int) -> dict[str, int]:
    """Entries that take a party's points or vouchers and in the same entry pay money (to the
    world or to that party), or credit points or vouchers to another party (a transfer)."""
    p, q = t.postings.alias("p"), t.postings.alias("q")
    party_p, party_q = _party(p.c.account_id), _party(q.c.account_id)
    taken = and_(p.c.entry_id.between(first_id, last_id), p.c.asset.in_(("PTS", "VCH")),
                 p.c.amount < 0, party_p != PLATFORM_PARTY_ID)
    cash_out = PLATFORM_PARTY_ID * ACCOUNTS_PER_PARTY + AccountKind.CASH_OUT.code
    cashed = conn.execute(select(func.count(func.distinct(p.c.entry_id))).select_from(
        p.join(q, q.c.entry_id == p.c.entry_id)).where(
        taken, q.c.asset == "CNY", q.c.amount > 0,
        or_(q.c.account_id == cash_out, party_q == party_p))).scalar_one()
    moved = conn.execute(select(func.count(func.distinct(p.c.entry_id))).select_from(
        p.join(q, q.c.entry_id == p.c.entry_id)).where(
        taken, q.c.asset.in_(("PTS", "VCH")), q.c.amount > 0, party_q != PLATFORM_PARTY_ID,
        party_q != party_p)).scalar_one()
    pts = conn.execute(select(func.count()).select_from(p).where(
        p.c.entry_id.between(first_id, last_id), p.c.asset.in_(("PTS", "VCH")),
        party_p != PLATFORM_PARTY_ID)).scalar_one()
    return {"party_point_and_voucher_postings": int(pts), "entries_cashing_out": int(cashed),
            "entries_transferring": int(moved)}


def consumer_payouts(conn: Connection, period: int) -> tuple[int, int]:
    """Payouts of the period, and those to consumers (points are never cashed)."""
    po, pt = t.payouts, t.parties
    row = conn.execute(select(func.count(), func.sum(case((pt.c.kind == "consumer", 1), else_=0)))
                       .select_from(po.join(pt, pt.c.id == po.c.party_id))
                       .where(po.c.period == period)).one()
    return int(row[0]), int(row[1] or 0)


def partner_credits_outside_orders(conn: Connection, first_id: int, last_id: int) -> tuple[int, int]:
    """Money credited to partners in entries other than orders (recruiting pay would be one)."""
    p, e, pt = t.postings, t.journal_entries, t.parties
    row = conn.execute(select(func.count(), func.coalesce(func.sum(p.c.amount), 0))
                       .select_from(p.join(e, e.c.id == p.c.entry_id)
                                    .join(pt, pt.c.id == _party(p.c.account_id)))
                       .where(p.c.entry_id.between(first_id, last_id), p.c.asset == "CNY",
                              p.c.amount > 0, pt.c.kind == "partner",
                              _kind(p.c.account_id) == AccountKind.CASH.code,
                              e.c.kind.not_in(("order",)))).one()
    return int(row[0]), int(row[1])


def period_row(conn: Connection, period: int) -> Any:
    return conn.execute(select(t.periods).where(t.periods.c.seq == period)).first()
