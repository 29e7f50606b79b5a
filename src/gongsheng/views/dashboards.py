"""Read models of the web pages that :mod:`reports` does not already serve.

Like :mod:`reports`, every query reads what one party owns through an index (its orders by
``merchant_id``, its accounts' postings, its signed merchants) or lifetime counters and the
stored per-period figures; nothing scans the whole history. Callers check who may read what.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from gongsheng.adapters import tables as t
from gongsheng.adapters.period_store import counters
from gongsheng.adapters.totals_store import party_totals
from gongsheng.domain.errors import NotFound
from gongsheng.domain.ledger import AccountKind, EntryKind
from gongsheng.domain.party_totals import posted
from gongsheng.domain.periods import LIFETIME
from gongsheng.views.figures import coverage_by_region
from gongsheng.views.reports import party_merchant_count, party_merchants


def regions_overview(conn: Connection) -> list[dict[str, Any]]:
    """Every region with its level, parent, merchant universe, coverage and active partner."""
    life = counters(conn, LIFETIME)
    coverage = {r.region_id: r for r in coverage_by_region(conn, life)}
    parent = aliased(t.regions)
    rows = conn.execute(
        select(t.regions.c.id, t.regions.c.level, parent.c.name.label("parent"))
        .select_from(t.regions.outerjoin(parent, parent.c.id == t.regions.c.parent_id))
        .order_by(t.regions.c.id)).all()
    partners = {int(r.region_id): r for r in conn.execute(
        select(t.partners.c.region_id, t.partners.c.party_id, t.partners.c.investment_fen,
               t.partners.c.term_start, t.parties.c.name)
        .select_from(t.partners.join(t.parties, t.parties.c.id == t.partners.c.party_id))
        .where(t.partners.c.active)).all()}
    out = []
    for rid, level, parent_name in rows:
        held = partners.get(int(rid))
        out.append({**asdict(coverage[int(rid)]), "level": level, "parent": parent_name,
                    "partner": None if held is None else {
                        "party_id": int(held.party_id), "name": held.name,
                        "investment_fen": int(held.investment_fen), "term_start": int(held.term_start)}})
    return out


def merchant_activity(conn: Connection, merchant_id: int) -> dict[str, Any]:
    """A merchant's sales per period (its own orders) and the acquisition rewards it earned on
    orders at other merchants by consumers it brought in, from its per-(party, period) totals.

    Rewards are its cash from order and refund entries less what its own orders and their
    refunds posted to it. A period is listed when the merchant sold in it or another merchant's
    order or refund posted to its cash in it (as a scan of its postings would list it).
    """
    totals = party_totals(conn, [merchant_id])
    per: dict[int, dict[str, int]] = {}
    periods = sorted({period for _, period, _ in totals})
    for period in periods:
        def get(name: str, period: int = period) -> int:
            return totals.get((merchant_id, period, name), 0)
        on_orders = (merchant_id, period, posted(AccountKind.CASH, EntryKind.ORDER.value))
        on_refunds = (merchant_id, period, posted(AccountKind.CASH, EntryKind.REFUND.value))
        others_orders = on_orders in totals and get("sales:orders") == 0
        others_refunds = on_refunds in totals and get(on_refunds[2]) != get("own_cash:refund")
        if not (get("sales:orders") or others_orders or others_refunds):
            continue
        per[period] = {"orders": get("sales:orders"), "sales_fen": get("sales:amount_fen"),
                       "refunded_fen": get("sales:refunded_fen"),
                       "concession_fen": get("sales:concession_fen"),
                       "vouchers_accepted_fen": get("sales:voucher_fen"),
                       "acquisition_rewards_fen": get(on_orders[2]) - get("own_cash:order")
                       + get(on_refunds[2]) - get("own_cash:refund")}
    rows = [{"period": p, **per[p]} for p in sorted(per)]
    sums = {k: sum(r[k] for r in rows) for k in (
        "orders", "sales_fen", "refunded_fen", "concession_fen", "vouchers_accepted_fen",
        "acquisition_rewards_fen")}
    return {"merchant_id": merchant_id, "periods": rows, "totals": sums}


def share_programmes(conn: Connection, merchant_id: int) -> list[dict[str, Any]]:
    """The shared-shareholder programmes (共享股东) a merchant runs, with holders and dividends."""
    sp, sd, su = t.share_programmes, t.share_dividends, t.share_units
    out = []
    for prog in conn.execute(select(sp).where(sp.c.merchant_id == merchant_id).order_by(sp.c.id)).all():
        holders = conn.execute(select(func.count()).select_from(su).where(
            su.c.programme_id == prog.id, su.c.units > 0)).scalar_one()
        dividends = [{"period": int(per), "profit_fen": int(profit), "paid_fen": int(paid)}
                     for per, profit, paid in conn.execute(
                         select(sd.c.period, sd.c.profit_fen, sd.c.paid_fen)
                         .where(sd.c.programme_id == prog.id).order_by(sd.c.period)).all()]
        out.append({"programme_id": int(prog.id), "unit_price_cpts": int(prog.unit_price_cpts),
                    "units_offered": int(prog.units_offered), "units_sold": int(prog.units_sold),
                    "profit_share": prog.profit_share, "holders": int(holders),
                    "dividends": dividends, "paid_total_fen": sum(d["paid_fen"] for d in dividends)})
    return out


def party_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    """The names of a few parties (by primary key)."""
    if not ids:
        return {}
    return {int(i): str(n) for i, n in conn.execute(
        select(t.parties.c.id, t.parties.c.name).where(t.parties.c.id.in_(sorted(set(ids))))).all()}


def promoter_overview(conn: Connection, promoter_id: int, *, limit: int = 50,
                      before: int | None = None, after: int | None = None,
                      newer: bool = False) -> dict[str, Any]:
    """A promoter's partner and region, how many merchants it signed and a page of them
    (``page``, ``reports.party_merchants``)."""
    row = conn.execute(
        select(t.promoters.c.partner_id, t.parties.c.name, t.partners.c.region_id,
               t.regions.c.name.label("region"))
        .select_from(t.promoters.join(t.partners, t.partners.c.party_id == t.promoters.c.partner_id)
                     .join(t.parties, t.parties.c.id == t.promoters.c.partner_id)
                     .join(t.regions, t.regions.c.id == t.partners.c.region_id))
        .where(t.promoters.c.party_id == promoter_id)).first()
    if row is None:
        raise NotFound(f"promoter {promoter_id} does not exist")
    return {"promoter_id": promoter_id, "partner_id": int(row.partner_id), "partner": row.name,
            "region_id": int(row.region_id), "region": row.region,
            "merchant_count": party_merchant_count(conn, "promoter", promoter_id),
            "page": party_merchants(conn, "promoter", promoter_id, limit=limit, before=before,
                                    after=after, newer=newer)}


__all__ = ["merchant_activity", "party_names", "promoter_overview", "regions_overview", "share_programmes"]
