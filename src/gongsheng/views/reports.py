"""Read models for the API and the demo: orders, statements, partner and BM reports, KPIs.

Every query here reads what one party owns through an index (its accounts' postings, its
merchants, its team), or the stored per-period figures and counters: none scans the whole
history (the risk detectors are in ``risk.py``). Callers check who may read what; these
functions only read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import balances_page
from gongsheng.adapters.paging import KeyedPage, keyed_page
from gongsheng.adapters.period_store import counters, open_period
from gongsheng.adapters.totals_store import party_totals
from gongsheng.domain.errors import InvariantViolation, NotFound
from gongsheng.domain.figures import PeriodFigures, share
from gongsheng.domain.ledger import (
    ACCOUNTS_PER_PARTY,
    PLATFORM_PARTY_ID,
    AccountKind,
    Asset,
    account_id,
    account_name,
    describe_account,
)
from gongsheng.domain.party_totals import split_posted
from gongsheng.domain.periods import LIFETIME
from gongsheng.services.holds import cash_position, holds_view
from gongsheng.services.ordering import OrderResult, order_result
from gongsheng.services.unit_of_work import stores_on
from gongsheng.services.wallets import party_kind


def list_orders(conn: Connection, *, consumer_id: int | None = None, merchant_id: int | None = None,
                limit: int = 50, before: int | None = None, after: int | None = None,
                newer: bool = False) -> KeyedPage[OrderResult]:
    """Orders, newest first, optionally of one consumer or one merchant, a page at a time by key
    (``adapters/paging.py``): an index range of ``(consumer_id, id)``, ``(merchant_id, id)`` or
    the primary key from the cursor, whatever the history."""
    o = t.orders
    query = select(o)
    if consumer_id is not None:
        query = query.where(o.c.consumer_id == consumer_id)
    if merchant_id is not None:
        query = query.where(o.c.merchant_id == merchant_id)
    return keyed_page(conn, query, o.c.id, limit, before=before, after=after,
                      newer=newer).map(order_result)


def order_parties(conn: Connection, order_id: int) -> tuple[int, int]:
    """``(consumer_id, merchant_id)`` of an order (for ownership checks)."""
    row = conn.execute(select(t.orders.c.consumer_id, t.orders.c.merchant_id)
                       .where(t.orders.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist")
    return int(row[0]), int(row[1])


def party_profile(conn: Connection, party_id: int) -> dict[str, Any]:
    """A party's name, kind and role-specific terms (referral code, merchant terms, region)."""
    row = conn.execute(select(t.parties.c.kind, t.parties.c.name)
                       .where(t.parties.c.id == party_id)).first()
    if row is None:
        raise NotFound(f"party {party_id} does not exist")
    out: dict[str, Any] = {"party_id": party_id, "kind": row.kind, "name": row.name}
    table = {"consumer": t.consumers, "merchant": t.merchants, "partner": t.partners,
             "promoter": t.promoters}.get(row.kind)
    if table is not None:
        extra = conn.execute(select(table).where(table.c.party_id == party_id)).mappings().first()
        if extra is not None:
            out.update({k: v for k, v in extra.items() if k not in ("party_id", "first_order_key")})
    return out


def _postings_by_period(conn: Connection, accounts: list[int],
                        kinds: tuple[str, ...] | None = None) -> list[tuple[int, int, str, int]]:
    """``(account, period, entry kind, sum)`` of what was posted to a few accounts, read from
    the per-(party, period) totals kept as entries post (never a sum over postings)."""
    wanted = {describe_account(a): a for a in accounts}
    out = []
    for (party, period, name), value in party_totals(conn, [p for p, _ in wanted]).items():
        split = split_posted(name)
        if split is None or (kinds is not None and split[1] not in kinds):
            continue
        acc = wanted.get((party, split[0]))
        if acc is not None:
            out.append((acc, period, split[1], value))
    return out


def statement(conn: Connection, party_id: int) -> dict[str, Any]:
    """Per period, what moved on the party's accounts, by kind of entry.

    Cash: ``earned_fen`` (commissions, dividends, settlement of orders), ``reversed_fen``
    (refunds), ``paid_out_fen`` (withdrawals); points and vouchers by entry kind. Read from the
    per-(party, period) totals of this party's own accounts only. The cash balance is shown as
    held (earned within the policy's hold window, per earning period in ``holds``) and
    available apart.
    """
    kind = party_kind(stores_on(conn), party_id)
    names = {AccountKind.CASH: "cash_fen", AccountKind.POINTS: "points_cpts",
             AccountKind.VOUCHERS: "vouchers_fen", AccountKind.VOUCHER_DEBT: "voucher_debt_fen",
             AccountKind.UNITS: "units_cpts"}
    accounts = {account_id(party_id, k): name for k, name in names.items()}
    periods: dict[int, dict[str, Any]] = {}
    for acc, period, entry_kind, amount in _postings_by_period(conn, list(accounts)):
        row = periods.setdefault(period, {"period": period, "earned_fen": 0, "reversed_fen": 0,
                                          "paid_out_fen": 0, "other_cash_fen": 0,
                                          **{n: {} for n in names.values()}})
        row[accounts[acc]][entry_kind] = row[accounts[acc]].get(entry_kind, 0) + amount
        if accounts[acc] == "cash_fen":
            field = {"order": "earned_fen", "refund": "reversed_fen",
                     "payout": "paid_out_fen"}.get(entry_kind, "other_cash_fen")
            row[field] += amount
    rows = [periods[p] for p in sorted(periods)]
    for row in rows:
        row["net_cash_fen"] = row["earned_fen"] + row["reversed_fen"] + row["paid_out_fen"] \
            + row["other_cash_fen"]
    position = cash_position(conn, party_id)
    if position.balance_fen != sum(r["net_cash_fen"] for r in rows):
        raise InvariantViolation(f"party {party_id}'s cash totals and its balance row disagree: "
                                 "run gongsheng verify")
    return {"party_id": party_id, "kind": kind, "periods": rows,
            "cash_balance_fen": position.balance_fen,
            "cash_held_fen": position.held_fen, "cash_available_fen": position.available_fen,
            "hold_periods": position.hold_periods, "holds": holds_view(position)}


def _commissions(conn: Connection, parties: list[int]) -> dict[int, int]:
    """Cash earned net of refunds per party, from its own cash totals."""
    if not parties:
        return {}
    cash = {account_id(p, AccountKind.CASH): p for p in parties}
    out: dict[int, int] = defaultdict(int)
    for acc, _, _, amount in _postings_by_period(conn, list(cash), ("order", "refund")):
        out[cash[acc]] += amount
    return {p: out.get(p, 0) for p in parties}


def partner_report(conn: Connection, partner_id: int) -> dict[str, Any]:
    """A partner's region, its dividends per period against the investment (payback), its team."""
    row = conn.execute(
        select(t.partners, t.regions.c.name, t.regions.c.level, t.regions.c.merchant_universe)
        .select_from(t.partners.join(t.regions, t.regions.c.id == t.partners.c.region_id))
        .where(t.partners.c.party_id == partner_id)).first()
    if row is None:
        raise NotFound(f"partner {partner_id} does not exist")
    by_channel = {str(c): int(n) for c, n in conn.execute(
        select(t.merchants.c.channel, func.count()).where(t.merchants.c.region_id == row.region_id,
                                                          t.merchants.c.active)
        .group_by(t.merchants.c.channel)).all()}
    merchants = sum(by_channel.values())
    cash = account_id(partner_id, AccountKind.CASH)
    per_period: dict[int, int] = defaultdict(int)
    for _, period, _, amount in _postings_by_period(conn, [cash], ("order", "refund")):
        per_period[period] += amount
    cumulative, dividends, payback_period = 0, [], None
    for period in sorted(per_period):
        cumulative += per_period[period]
        dividends.append({"period": period, "dividend_fen": per_period[period],
                          "cumulative_fen": cumulative})
        if payback_period is None and row.investment_fen and cumulative >= row.investment_fen:
            payback_period = period
    team = conn.execute(select(t.promoters.c.party_id, t.parties.c.name)
                        .select_from(t.promoters.join(t.parties, t.parties.c.id == t.promoters.c.party_id))
                        .where(t.promoters.c.partner_id == partner_id)
                        .order_by(t.promoters.c.party_id)).all()
    ids = [int(p) for p, _ in team]
    signed: dict[Any, Any] = dict(conn.execute(select(t.merchants.c.promoter_id, func.count())
                               .where(t.merchants.c.promoter_id.in_(ids))
                               .group_by(t.merchants.c.promoter_id)).all()) if ids else {}
    earned = _commissions(conn, ids)
    return {
        "partner_id": partner_id, "investment_fen": int(row.investment_fen),
        "term_start": int(row.term_start), "active": bool(row.active),
        "term_end": row.term_end, "term_periods": row.term_periods,
        "region": {"region_id": int(row.region_id), "name": row.name, "level": row.level,
                   "merchant_universe": int(row.merchant_universe), "merchants": merchants,
                   "merchants_by_channel": by_channel,
                   "coverage": share(merchants, int(row.merchant_universe))},
        "dividends": dividends, "dividends_total_fen": cumulative,
        "payback": share(cumulative, int(row.investment_fen)), "payback_period": payback_period,
        "team": [{"promoter_id": p, "name": n, "merchants_signed": int(signed.get(p, 0)),
                  "commissions_fen": earned[p]} for p, n in ((int(a), b) for a, b in team)],
        "team_commissions_fen": sum(earned.values()),
    }


_SIGNER = {"bm": t.merchants.c.bm_id, "promoter": t.merchants.c.promoter_id}
"""The column naming a merchant's BM (bound) or promoter (signed)."""


def party_merchants(conn: Connection, role: str, party_id: int, *, limit: int = 50,
                    before: int | None = None, after: int | None = None,
                    newer: bool = False) -> KeyedPage[dict[str, Any]]:
    """The merchants bound to a BM (``role`` ``bm``) or signed by a promoter (``promoter``),
    newest first, paged by key: one range of ``ix_merchants_bm_key`` /
    ``ix_merchants_promoter_key`` per page, however many merchants the party has."""
    m = t.merchants
    query = (select(m.c.party_id, t.parties.c.name, m.c.category, m.c.channel, m.c.region_id,
                    m.c.concession_rate, m.c.bm_rate, m.c.accepts_vouchers, m.c.active)
             .select_from(m.join(t.parties, t.parties.c.id == m.c.party_id))
             .where(_SIGNER[role] == party_id))
    return keyed_page(conn, query, m.c.party_id, limit, before=before, after=after,
                      newer=newer).map(lambda r: {
                          "merchant_id": int(r.party_id), "name": r.name, "category": r.category,
                          "channel": r.channel, "region_id": int(r.region_id),
                          "concession_rate": r.concession_rate, "bm_rate": r.bm_rate,
                          "accepts_vouchers": bool(r.accepts_vouchers), "active": bool(r.active)})


def party_merchant_count(conn: Connection, role: str, party_id: int) -> int:
    """How many merchants the BM or promoter has (an index-only count of its range)."""
    column = _SIGNER[role]
    return int(conn.execute(select(func.count()).select_from(t.merchants)
                            .where(column == party_id)).scalar_one())


def bm_merchants(conn: Connection, bm_id: int, *, limit: int = 50, before: int | None = None,
                 after: int | None = None, newer: bool = False) -> dict[str, Any]:
    """A business manager's commissions to date, how many merchants are bound to it and a page
    of them (``page``, :func:`party_merchants`)."""
    if conn.execute(select(t.business_managers.c.party_id)
                    .where(t.business_managers.c.party_id == bm_id)).first() is None:
        raise NotFound(f"business manager {bm_id} does not exist")
    return {"bm_id": bm_id, "commissions_fen": _commissions(conn, [bm_id])[bm_id],
            "merchant_count": party_merchant_count(conn, "bm", bm_id),
            "page": party_merchants(conn, "bm", bm_id, limit=limit, before=before, after=after,
                                    newer=newer)}


def kpis(conn: Connection, since: int = 1, limit: int = 120) -> dict[str, Any]:
    """Figures stored with each closed period (MODEL.md section 8) and the open period's counters."""
    rows = conn.execute(select(t.periods).where(t.periods.c.seq >= since)
                        .order_by(t.periods.c.seq).limit(limit)).all()
    closed = []
    for row in rows:
        if row.status == "closed" and row.figures:
            closed.append({"period": int(row.seq), "starts_on": row.starts_on,
                           "ends_on": row.ends_on,
                           **PeriodFigures.from_json(json.loads(row.figures)).to_json()})
    current = open_period(conn)
    live = counters(conn, current.seq)
    life = counters(conn, LIFETIME, ("consumers", "merchants"))  # not one per region
    orders, gmv = live.get("orders", 0), live.get("gmv_fen", 0)
    return {
        "periods": closed,
        "open_period": {
            "period": current.seq, "starts_on": current.starts_on, "gmv_fen": gmv,
            "orders": orders, "average_order_fen": gmv // orders if orders else 0,
            "active_consumers": live.get("active_consumers", 0),
            "registered_consumers": life.get("consumers", 0), "merchants": life.get("merchants", 0),
            "counters": live},
    }


def trial_balance_report(conn: Connection, limit: int = 500,
                         after: int | None = None) -> dict[str, Any]:
    """Balance per account and asset, a page at a time (by account id, after ``after``), with
    the per-kind and per-asset totals of the whole ledger (each asset's zero when the books
    balance).

    The totals are the system accounts' balance rows plus the all-parties totals kept as
    entries post: O(kinds x stripes), never every account (the tests hold them to the sum of
    every balance row).
    """
    low = PLATFORM_PARTY_ID * ACCOUNTS_PER_PARTY
    system = balances_page(conn, low - 1, 4 * ACCOUNTS_PER_PARTY, low + ACCOUNTS_PER_PARTY - 1)
    by_kind: dict[str, int] = {}
    totals = {a.value: 0 for a in Asset}
    for acc, asset, amount in system:
        by_kind[describe_account(acc)[1].name.lower()] = amount
        totals[asset.value] += amount
    for (_, _, name), amount in party_totals(conn, [PLATFORM_PARTY_ID], "parties:").items():
        kind = AccountKind[name.removeprefix("parties:").upper()]
        by_kind[kind.name.lower()] = amount
        totals[kind.asset.value] += amount
    rows = []
    page = balances_page(conn, after, limit)
    for acc, asset, amount in page:
        party, kind = describe_account(acc)
        rows.append({"account_id": acc, "account": account_name(acc),
                     "party_id": None if kind.system else party, "kind": kind.name.lower(),
                     "asset": asset.value, "balance": amount})
    return {"accounts": rows, "by_kind": {k: v for k, v in sorted(by_kind.items()) if v},
            "totals": totals, "balanced": not any(totals.values()),
            "next_after": page[-1][0] if len(page) == limit else None}


__all__ = ["bm_merchants", "kpis", "list_orders", "order_parties",
           "partner_report", "party_profile", "statement", "trial_balance_report"]
