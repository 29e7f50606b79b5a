"""The shared-shareholder store (共享股东): profit-share units bought with unreleased points.

A merchant opens a programme (unit price in points, units on offer, share of profit). A consumer
exchanges points that have not started releasing for units: the points leave its holdings (their
cap is forfeited) and are recorded as units. Each period the store may declare a profit once; the
programme's share of it is paid, from the merchant's cash, to unit holders pro rata as vouchers
(backed in the pool's reserve like released vouchers). Invariants: units sold never exceed units
offered; a period's profit is declared at most once per programme; the payout sums exactly to
the share (largest-remainder split).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.ledger_store import post
from gongsheng.domain.errors import Conflict, InsufficientBalance, InvalidInput, NotFound
from gongsheng.domain.events import PointsExchanged, StoreProfitDeclared
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.money import apply_rate, parse_rate, split_pro_rata
from gongsheng.services.books import add_counters, open_period
from gongsheng.services.holdings import holdings_of, remove_points
from gongsheng.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Programme:
    id: int
    merchant_id: int
    unit_price_cpts: int
    units_offered: int
    units_sold: int
    profit_share: str


def open_programme(uow: UnitOfWork, merchant_id: int, unit_price_cpts: int, units_offered: int,
                   profit_share: str) -> int:
    """A merchant offers ``units_offered`` units at ``unit_price_cpts`` points for a profit share."""
    if unit_price_cpts <= 0 or units_offered <= 0:
        raise InvalidInput("unit price and units offered must be positive")
    share = parse_rate(profit_share, name="profit_share")
    if not 0 < share <= 1:
        raise InvalidInput("profit_share must lie in (0, 1]")
    if uow.conn.execute(select(t.merchants.c.party_id)
                        .where(t.merchants.c.party_id == merchant_id)).first() is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    return int(uow.conn.execute(insert(t.share_programmes).returning(t.share_programmes.c.id), {
        "merchant_id": merchant_id, "unit_price_cpts": unit_price_cpts,
        "units_offered": units_offered, "profit_share": str(share)}).scalar_one())


def programme(uow: UnitOfWork, programme_id: int, *, lock: bool = False) -> Programme:
    """A programme; with ``lock``, its row is locked until the transaction ends (PostgreSQL),
    so exchanges and dividends of one programme run one after the other."""
    query = select(t.share_programmes).where(t.share_programmes.c.id == programme_id)
    row = uow.conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"share programme {programme_id} does not exist")
    return Programme(int(row.id), int(row.merchant_id), int(row.unit_price_cpts),
                     int(row.units_offered), int(row.units_sold), row.profit_share)


def exchange(uow: UnitOfWork, consumer_id: int, programme_id: int, units: int) -> int:
    """Exchange unreleased points for ``units``; returns the points spent."""
    if units <= 0:
        raise InvalidInput("units must be positive")
    uow.lock_adjustments([consumer_id])  # the consumer's holdings, checked then lowered
    prog = programme(uow, programme_id, lock=True)  # units sold, checked then raised
    if prog.units_sold + units > prog.units_offered:
        raise InvalidInput(f"only {prog.units_offered - prog.units_sold} units are left")
    conn = uow.conn
    cost = units * prog.unit_price_cpts
    period = open_period(conn).seq
    unreleased = [h for h in holdings_of(conn, consumer_id) if h.fraction == 0 and h.points_cpts]
    if sum(h.points_cpts for h in unreleased) < cost:
        raise InsufficientBalance(
            f"{units} units cost {cost} centi-points; the consumer holds only "
            f"{sum(h.points_cpts for h in unreleased)} centi-points not yet releasing")
    left = cost
    for h in sorted(unreleased, key=lambda h: -h.start_period):  # newest holdings first
        take = min(left, h.points_cpts)
        remove_points(conn, consumer_id, h.start_period, h.multiple, take, period,
                      EntryKind.EXCHANGE, [
                          (account_id(consumer_id, AccountKind.POINTS), Asset.PTS, -take),
                          (account_id(consumer_id, AccountKind.UNITS), Asset.PTS, take)])
        left -= take
        if not left:
            break
    conn.execute(update(t.share_programmes).where(t.share_programmes.c.id == programme_id)
                 .values(units_sold=t.share_programmes.c.units_sold + units))
    upsert_add(conn, t.share_units, ("programme_id", "holder_id"), ("units",),
               [(programme_id, consumer_id, units)])
    add_counters(conn, period, {"store_points_exchanged_cpts": cost})
    uow.record(PointsExchanged(period=period, consumer_id=consumer_id, programme_id=programme_id,
                               units=units, points_cpts=cost))
    return cost


def declare_profit(uow: UnitOfWork, programme_id: int, profit_fen: int) -> int:
    """Declare this period's profit; pay the programme's share to unit holders as vouchers."""
    if profit_fen < 0:
        raise InvalidInput("profit_fen must not be negative")
    conn = uow.conn
    prog = programme(uow, programme_id)
    uow.lock_adjustments([prog.merchant_id])  # the merchant's cash pays the share
    prog = programme(uow, programme_id, lock=True)  # one declaration per period at a time
    period = open_period(conn).seq
    if conn.execute(select(t.share_dividends.c.period).where(
            t.share_dividends.c.programme_id == programme_id,
            t.share_dividends.c.period == period)).first() is not None:
        raise Conflict(f"programme {programme_id} already declared its profit for period {period}")
    share = int(apply_rate(profit_fen, Decimal(prog.profit_share)))
    holders = conn.execute(select(t.share_units.c.holder_id, t.share_units.c.units).where(
        t.share_units.c.programme_id == programme_id, t.share_units.c.units > 0)
        .order_by(t.share_units.c.holder_id)).all()
    paid = share if holders else 0
    parts = split_pro_rata(paid, [int(u) for _, u in holders])
    legs = [(account_id(prog.merchant_id, AccountKind.CASH), Asset.CNY, -paid),
            (system_account(AccountKind.POOL_RESERVED), Asset.CNY, paid),
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -paid)]
    legs += [(account_id(int(h), AccountKind.VOUCHERS), Asset.VCH, p)
             for (h, _), p in zip(holders, parts, strict=True)]
    conn.execute(insert(t.share_dividends), {"programme_id": programme_id, "period": period,
                                             "profit_fen": profit_fen, "paid_fen": paid})
    entry = JournalEntry.build(EntryKind.DIVIDEND, legs, f"store dividend {programme_id}/{period}")
    if entry is not None:
        post(conn, entry, period, programme_id)
    add_counters(conn, period, {"store_dividends_fen": paid})
    uow.record(StoreProfitDeclared(period=period, programme_id=programme_id,
                                   profit_fen=profit_fen, paid_fen=paid))
    return paid
