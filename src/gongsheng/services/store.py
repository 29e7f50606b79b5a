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

from decimal import Decimal
from typing import Any

from gongsheng.adapters.programme_store import open_programmes, units_of
from gongsheng.domain.errors import Conflict, InsufficientBalance, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.events import PointsExchanged, StoreProfitDeclared
from gongsheng.domain.holdings import Holding
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.money import apply_rate, parse_rate, split_pro_rata, yuan
from gongsheng.domain.programmes import Programme
from gongsheng.services.actions import run_keyed
from gongsheng.services.holdings import take_back
from gongsheng.services.holds import position
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.unit_of_work import Connection, UnitOfWork, stores_on

__all__ = ["Programme", "declare_keyed", "declare_profit", "exchange", "exchange_keyed",
           "open_programme", "open_programme_for", "open_programmes", "programme",
           "quote_exchange", "units_of"]


def open_programme(uow: Stores, merchant_id: int, unit_price_cpts: int, units_offered: int,
                   profit_share: str) -> int:
    """A merchant offers ``units_offered`` units at ``unit_price_cpts`` points for a profit share."""
    if unit_price_cpts <= 0 or units_offered <= 0:
        raise InvalidInput("unit price and units offered must be positive")
    share = parse_rate(profit_share, name="profit_share")
    if not 0 < share <= 1:
        raise InvalidInput("profit_share must lie in (0, 1]")
    if uow.programmes.merchant_active(merchant_id) is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    return uow.programmes.add_programme(merchant_id, unit_price_cpts, units_offered, str(share))


def programme(uow: Stores, programme_id: int, *, lock: bool = False) -> Programme:
    """A programme; with ``lock``, its row is locked until the transaction ends (PostgreSQL),
    so exchanges and dividends of one programme run one after the other."""
    found = uow.programmes.programme(programme_id, lock=lock)
    if found is None:
        raise NotFound(f"share programme {programme_id} does not exist")
    return found


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


def _unreleased(stores: Stores, consumer_id: int) -> list[Holding]:
    """A consumer's holdings of points that have not started releasing."""
    return [h for h in stores.holdings.holdings(consumer_id) if h.fraction == 0 and h.points_cpts]


def exchange(uow: Work, consumer_id: int, programme_id: int, units: int) -> int:
    """Exchange unreleased points for ``units``; returns the points spent."""
    if units <= 0:
        raise InvalidInput("units must be positive")
    uow.lock_adjustments([consumer_id])  # the consumer's holdings, checked then lowered
    if uow.parties.is_frozen(consumer_id):
        raise PartyFrozen(f"party {consumer_id} is frozen for review: it cannot exchange points "
                          "until an administrator unfreezes it")
    prog = programme(uow, programme_id, lock=True)  # units sold, checked then raised
    if prog.units_sold + units > prog.units_offered:
        raise InvalidInput(f"only {prog.units_offered - prog.units_sold} units are left")
    cost = units * prog.unit_price_cpts
    period = uow.periods.open_period().seq
    unreleased = _unreleased(uow, consumer_id)
    if sum(h.points_cpts for h in unreleased) < cost:
        raise InsufficientBalance(
            f"{units} units cost {cost} centi-points; the consumer holds only "
            f"{sum(h.points_cpts for h in unreleased)} centi-points not yet releasing")
    for h, take in _takes(unreleased, cost):
        take_back(uow, consumer_id, h.start_period, h.multiple, take, period, EntryKind.EXCHANGE, [
            (account_id(consumer_id, AccountKind.POINTS), Asset.PTS, -take),
            (account_id(consumer_id, AccountKind.UNITS), Asset.PTS, take)])
    uow.programmes.sell_units(programme_id, consumer_id, units)
    uow.periods.add_counters(period, {"store_points_exchanged_cpts": cost})
    uow.record(PointsExchanged(period=period, consumer_id=consumer_id, programme_id=programme_id,
                               units=units, points_cpts=cost))
    return cost


def _check_can_pay(uow: Stores, merchant_id: int, paid_fen: int) -> None:
    """A store dividend is paid from the merchant's cash: refused while the merchant is frozen,
    and beyond its *available* cash (earnings still held stay back, so a refund inside the hold
    window can still reverse them without a negative balance)."""
    if uow.parties.is_frozen(merchant_id):
        raise PartyFrozen(f"merchant {merchant_id} is frozen for review: it cannot pay a store "
                          "dividend until an administrator unfreezes it")
    available = position(uow, merchant_id).available_fen
    if paid_fen > available:
        raise InsufficientBalance(
            f"the programme's share is {yuan(paid_fen)} yuan; the merchant has only "
            f"{yuan(available)} yuan of available cash")


def declare_profit(uow: Work, programme_id: int, profit_fen: int) -> int:
    """Declare this period's profit; pay the programme's share to unit holders as vouchers."""
    if profit_fen < 0:
        raise InvalidInput("profit_fen must not be negative")
    prog = programme(uow, programme_id)
    uow.lock_adjustments([prog.merchant_id])  # the merchant's cash pays the share
    prog = programme(uow, programme_id, lock=True)  # one declaration per period at a time
    period = uow.periods.open_period().seq
    if uow.programmes.dividend_declared(programme_id, period):
        raise Conflict(f"programme {programme_id} already declared its profit for period {period}")
    share = int(apply_rate(profit_fen, Decimal(prog.profit_share)))
    holders = uow.programmes.unit_holders(programme_id)
    paid = share if holders else 0
    if paid:
        _check_can_pay(uow, prog.merchant_id, paid)
    parts = split_pro_rata(paid, [u for _, u in holders])
    legs = [(account_id(prog.merchant_id, AccountKind.CASH), Asset.CNY, -paid),
            (system_account(AccountKind.POOL_RESERVED), Asset.CNY, paid),
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -paid)]
    legs += [(account_id(h, AccountKind.VOUCHERS), Asset.VCH, p)
             for (h, _), p in zip(holders, parts, strict=True)]
    uow.programmes.add_dividend(programme_id, period, profit_fen, paid)
    entry = JournalEntry.build(EntryKind.DIVIDEND, legs, f"store dividend {programme_id}/{period}")
    if entry is not None:
        uow.ledger.post(entry, period, programme_id)
    uow.periods.add_counters(period, {"store_dividends_fen": paid})
    uow.record(StoreProfitDeclared(period=period, programme_id=programme_id,
                                   profit_fen=profit_fen, paid_fen=paid))
    return paid


# --- the store as its parties use it: keyed writes, quotes, listings ----------------------------

def open_programme_for(uow: Stores, merchant_id: int, unit_price_cpts: int, units_offered: int,
                       profit_share: str) -> Programme:
    """A merchant opens a programme (an active merchant only); returns it."""
    if uow.programmes.merchant_active(merchant_id) is False:
        raise InvalidInput(f"merchant {merchant_id} is not active")
    return programme(uow, open_programme(uow, merchant_id, unit_price_cpts, units_offered, profit_share))


def quote_exchange(conn: Connection, consumer_id: int, programme_id: int, units: int) -> dict[str, Any]:
    """What exchanging ``units`` would cost and forfeit, before the consumer confirms; writes nothing.

    ``cap_forfeited_fen`` is the vouchers the spent points would have released (their cap).
    """
    return quote(stores_on(conn), consumer_id, programme_id, units)


def quote(stores: Stores, consumer_id: int, programme_id: int, units: int) -> dict[str, Any]:
    """:func:`quote_exchange` on the stores."""
    if units <= 0:
        raise InvalidInput("units must be positive")
    prog = programme(stores, programme_id)
    cost = units * prog.unit_price_cpts
    unreleased = _unreleased(stores, consumer_id)
    available = sum(h.points_cpts for h in unreleased)
    takes = _takes(unreleased, cost) if available >= cost else []
    left = prog.units_offered - prog.units_sold
    return {"programme_id": programme_id, "units": units, "cost_cpts": cost,
            "available_cpts": available, "units_left": left,
            "cap_forfeited_fen": sum(int(apply_rate(take, h.multiple)) for h, take in takes),
            "feasible": bool(takes) and units <= left}


def exchange_keyed(uow: UnitOfWork, consumer_id: int, programme_id: int, units: int,
                   key: str) -> tuple[dict[str, Any], bool]:
    """:func:`exchange` under an Idempotency-Key: ``(answer, replayed)``."""
    uow.lock_adjustments()

    def apply() -> dict[str, Any]:
        answer = quote(uow, consumer_id, programme_id, units)
        cost = exchange(uow, consumer_id, programme_id, units)
        return {"programme_id": programme_id, "consumer_id": consumer_id, "units": units,
                "cost_cpts": cost, "cap_forfeited_fen": answer["cap_forfeited_fen"]}

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
        return {"programme_id": programme_id, "period": uow.periods.open_period().seq,
                "profit_fen": profit_fen, "paid_fen": paid}

    return run_keyed(uow, "declare", merchant_id, key,
                     {"programme_id": programme_id, "profit_fen": profit_fen}, apply)
