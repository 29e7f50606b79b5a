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
from typing import Any

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.freeze_store import is_frozen
from gongsheng.adapters.ledger_store import post
from gongsheng.adapters.paging import KeyedPage, keyed_page
from gongsheng.domain.errors import Conflict, InsufficientBalance, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.events import PointsExchanged, StoreProfitDeclared
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.money import apply_rate, parse_rate, split_pro_rata, yuan
from gongsheng.services.actions import run_keyed
from gongsheng.services.books import add_counters, open_period
from gongsheng.services.holdings import Holding, holdings_of, remove_points
from gongsheng.services.holds import cash_position
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


def _takes(unreleased: list[Holding], cost: int) -> list[tuple[Holding, int]]:
    """The points an exchange of ``cost`` takes from each holding: newest holdings first."""
    out, left = [], cost
    for h in sorted(unreleased, key=lambda h: -h.start_period):
        if not left:
            break
        take = min(left, h.points_cpts)
        out.append((h, take))
        left -= take
    return out


def exchange(uow: UnitOfWork, consumer_id: int, programme_id: int, units: int) -> int:
    """Exchange unreleased points for ``units``; returns the points spent."""
    if units <= 0:
        raise InvalidInput("units must be positive")
    uow.lock_adjustments([consumer_id])  # the consumer's holdings, checked then lowered
    if is_frozen(uow.conn, consumer_id):
        raise PartyFrozen(f"party {consumer_id} is frozen for review: it cannot exchange points "
                          "until an administrator unfreezes it")
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
    for h, take in _takes(unreleased, cost):
        remove_points(conn, consumer_id, h.start_period, h.multiple, take, period,
                      EntryKind.EXCHANGE, [
                          (account_id(consumer_id, AccountKind.POINTS), Asset.PTS, -take),
                          (account_id(consumer_id, AccountKind.UNITS), Asset.PTS, take)])
    conn.execute(update(t.share_programmes).where(t.share_programmes.c.id == programme_id)
                 .values(units_sold=t.share_programmes.c.units_sold + units))
    upsert_add(conn, t.share_units, ("programme_id", "holder_id"), ("units",),
               [(programme_id, consumer_id, units)])
    add_counters(conn, period, {"store_points_exchanged_cpts": cost})
    uow.record(PointsExchanged(period=period, consumer_id=consumer_id, programme_id=programme_id,
                               units=units, points_cpts=cost))
    return cost


def _check_can_pay(conn: Connection, merchant_id: int, paid_fen: int) -> None:
    """A store dividend is paid from the merchant's cash: refused while the merchant is frozen,
    and beyond its *available* cash (earnings still held stay back, so a refund inside the hold
    window can still reverse them without a negative balance)."""
    if is_frozen(conn, merchant_id):
        raise PartyFrozen(f"merchant {merchant_id} is frozen for review: it cannot pay a store "
                          "dividend until an administrator unfreezes it")
    available = cash_position(conn, merchant_id).available_fen
    if paid_fen > available:
        raise InsufficientBalance(
            f"the programme's share is {yuan(paid_fen)} yuan; the merchant has only "
            f"{yuan(available)} yuan of available cash")


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
    if paid:
        _check_can_pay(conn, prog.merchant_id, paid)
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


# --- the store as its parties use it: keyed writes, quotes, listings ----------------------------

def open_programme_for(uow: UnitOfWork, merchant_id: int, unit_price_cpts: int, units_offered: int,
                       profit_share: str) -> Programme:
    """A merchant opens a programme (an active merchant only); returns it."""
    active = uow.conn.execute(select(t.merchants.c.active)
                              .where(t.merchants.c.party_id == merchant_id)).scalar()
    if active is False:
        raise InvalidInput(f"merchant {merchant_id} is not active")
    return programme(uow, open_programme(uow, merchant_id, unit_price_cpts, units_offered, profit_share))


def quote_exchange(conn: Connection, consumer_id: int, programme_id: int, units: int) -> dict[str, Any]:
    """What exchanging ``units`` would cost and forfeit, before the consumer confirms; writes nothing.

    ``cap_forfeited_fen`` is the vouchers the spent points would have released (their cap).
    """
    if units <= 0:
        raise InvalidInput("units must be positive")
    row = conn.execute(select(t.share_programmes).where(t.share_programmes.c.id == programme_id)).first()
    if row is None:
        raise NotFound(f"share programme {programme_id} does not exist")
    cost = units * int(row.unit_price_cpts)
    unreleased = [h for h in holdings_of(conn, consumer_id) if h.fraction == 0 and h.points_cpts]
    available = sum(h.points_cpts for h in unreleased)
    takes = _takes(unreleased, cost) if available >= cost else []
    return {"programme_id": programme_id, "units": units, "cost_cpts": cost,
            "available_cpts": available, "units_left": int(row.units_offered) - int(row.units_sold),
            "cap_forfeited_fen": sum(int(apply_rate(take, h.multiple)) for h, take in takes),
            "feasible": bool(takes) and units <= int(row.units_offered) - int(row.units_sold)}


def exchange_keyed(uow: UnitOfWork, consumer_id: int, programme_id: int, units: int,
                   key: str) -> tuple[dict[str, Any], bool]:
    """:func:`exchange` under an Idempotency-Key: ``(answer, replayed)``."""
    uow.lock_adjustments()

    def apply() -> dict[str, Any]:
        quote = quote_exchange(uow.conn, consumer_id, programme_id, units)
        cost = exchange(uow, consumer_id, programme_id, units)
        return {"programme_id": programme_id, "consumer_id": consumer_id, "units": units,
                "cost_cpts": cost, "cap_forfeited_fen": quote["cap_forfeited_fen"]}

    return run_keyed(uow, "exchange", consumer_id, key,
                     {"programme_id": programme_id, "units": units}, apply)


def declare_keyed(uow: UnitOfWork, merchant_id: int, programme_id: int, profit_fen: int,
                  key: str) -> tuple[dict[str, Any], bool]:
    """:func:`declare_profit` by the programme's merchant under an Idempotency-Key."""
    uow.lock_adjustments()
    if programme(uow, programme_id).merchant_id != merchant_id:
        raise NotFound(f"share programme {programme_id} does not exist")

    def apply() -> dict[str, Any]:
        paid = declare_profit(uow, programme_id, profit_fen)
        return {"programme_id": programme_id, "period": open_period(uow.conn).seq,
                "profit_fen": profit_fen, "paid_fen": paid}

    return run_keyed(uow, "declare", merchant_id, key,
                     {"programme_id": programme_id, "profit_fen": profit_fen}, apply)


def open_programmes(conn: Connection, *, limit: int = 50,
                    before: int | None = None) -> KeyedPage[dict[str, Any]]:
    """Programmes with units left, with their merchants' names, newest first: one page by key
    (``ix_share_programmes_open`` holds only those with units left)."""
    sp = t.share_programmes
    query = (select(sp, t.parties.c.name)
             .select_from(sp.join(t.parties, t.parties.c.id == sp.c.merchant_id))
             .where(sp.c.units_sold < sp.c.units_offered))
    return keyed_page(conn, query, sp.c.id, limit, before=before).map(lambda r: {
        "programme_id": int(r.id), "merchant_id": int(r.merchant_id), "merchant": r.name,
        "unit_price_cpts": int(r.unit_price_cpts), "units_offered": int(r.units_offered),
        "units_sold": int(r.units_sold), "profit_share": r.profit_share})


def units_of(conn: Connection, holder_id: int) -> list[dict[str, Any]]:
    """The units a holder owns, per programme."""
    su = t.share_units
    return [{"programme_id": int(p), "units": int(u)} for p, u in conn.execute(
        select(su.c.programme_id, su.c.units).where(su.c.holder_id == holder_id, su.c.units > 0)
        .order_by(su.c.programme_id)).all()]
