"""Holds on cash earnings (policy ``payouts.hold_periods``): withdrawable only after the window.

- earnings of a period are held until ``hold_periods`` closes later, then available, without any
  work at the close; wallets and statements show held and available apart;
- a refund inside the hold window, after the party withdrew all it could, never leaves a
  negative cash balance (Hypothesis: random orders, closes, withdrawals and refunds);
- a refund of an order whose earnings were already available may still (as before) leave a
  negative balance netted against later earnings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build_city, policy_with_hold
from gongsheng.adapters.period_store import open_period
from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.holds import CashPosition
from gongsheng.domain.ledger import AccountKind
from gongsheng.services.platform import Platform
from gongsheng.views import reports

from .helpers import assert_verified, held, snapshot

if TYPE_CHECKING:
    from conftest import City


def test_earnings_are_held_for_one_period_by_default(city: City) -> None:
    plat = city.platform
    city.order(100_000)  # M is settled 800.00, the partner earns 30.00
    wallet = plat.wallet(city.merchant)
    assert (wallet.cash_fen, wallet.cash_held_fen, wallet.cash_available_fen) == (80_000, 80_000, 0)
    before = snapshot(plat)
    with pytest.raises(InsufficientBalance, match="held"):
        plat.withdraw(city.merchant, 50_000, "early")
    assert snapshot(plat) == before
    plat.close_period()
    city.order(50_000)  # 400.00 more, earned in period 2: held in its turn
    wallet = plat.wallet(city.merchant)
    assert (wallet.cash_fen, wallet.cash_held_fen, wallet.cash_available_fen) == (
        120_000, 40_000, 80_000)
    statement = plat.read(reports.statement, city.merchant)
    assert statement["holds"] == [{"earned_in_period": 2, "held_fen": 40_000,
                                   "available_from_period": 3}]
    with pytest.raises(InsufficientBalance, match="held"):
        plat.withdraw(city.merchant, 80_001, "too-much")
    assert plat.withdraw(city.merchant, 80_000, "ok").balance_after_fen == 40_000
    assert_verified(plat)


def test_a_longer_hold_waits_that_many_closes(db_url: str,
                                              open_platform: Callable[..., Platform]) -> None:
    city = build_city(open_platform(db_url, policy_with_hold(2)))
    plat = city.platform
    city.order(100_000)
    plat.close_period()
    assert plat.wallet(city.merchant).cash_available_fen == 0
    plat.close_period()
    assert plat.wallet(city.merchant).cash_available_fen == 80_000


def test_a_refund_inside_the_window_never_goes_negative(city: City) -> None:
    plat = city.platform
    old = city.order(100_000)
    plat.close_period()
    new = city.order(100_000)
    plat.withdraw(city.merchant, plat.wallet(city.merchant).cash_available_fen, "all")
    plat.refund(new.order_id, 100_000, "refund-new")  # inside the window: reverses held earnings
    assert held(plat, city.merchant, AccountKind.CASH) == 0
    assert plat.wallet(city.merchant).cash_held_fen == 0
    plat.refund(old.order_id, 100_000, "refund-old")  # outside it: netted against later earnings
    assert held(plat, city.merchant, AccountKind.CASH) == -80_000
    assert plat.wallet(city.merchant).cash_available_fen == 0
    assert_verified(plat)


def test_cash_position_holds_only_what_a_period_still_nets() -> None:
    position = CashPosition.of(50_000, {3: 20_000, 4: -5_000}, 2)
    assert (position.held_fen, position.available_fen) == (20_000, 30_000)
    assert CashPosition.of(-1_000, {}, 1).available_fen == 0


EARNERS = ("merchant", "home", "partner", "promoter", "bm")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1_000, 2_000_000), st.booleans()), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 9), st.integers(1, 100)), max_size=6),
       st.integers(1, 2))
def test_refunds_inside_the_hold_window_leave_no_negative_balance(
        new_database: Callable[[str], str], open_platform: Callable[..., Platform],
        orders: list[tuple[int, bool]], refunds: list[tuple[int, int]], hold: int) -> None:
    """Orders in several periods; each earner withdraws all it may; then refunds (partial or
    full) of the orders still in the window: no earner's cash goes below zero, nor below what
    it still holds."""
    city = build_city(open_platform(new_database("sqlite"), policy_with_hold(hold)))
    plat = city.platform
    placed = []
    for amount, close_after in orders:
        order = city.order(amount, consumer=city.referrer if amount % 2 else city.consumer)
        placed.append(order)
        if close_after:
            plat.close_period()
    for name in EARNERS:
        party = getattr(city, name)
        free = plat.wallet(party).cash_available_fen
        if free >= 10_000:  # the default threshold
            plat.withdraw(party, free, f"w-{name}")
    open_seq = plat.read(lambda conn: open_period(conn).seq)
    in_window = [o for o in placed if o.period > open_seq - hold]
    refunded: dict[int, int] = {}
    for index, percent in refunds:
        if not in_window:
            break
        order = in_window[index % len(in_window)]
        left = order.amount_fen - refunded.get(order.order_id, 0)
        amount = max(1, left * percent // 100) if left else 0
        if amount:
            plat.refund(order.order_id, amount, f"r-{len(refunded)}-{index}-{percent}-{left}")
            refunded[order.order_id] = refunded.get(order.order_id, 0) + amount
    for name in EARNERS:
        wallet = plat.wallet(getattr(city, name))
        assert wallet.cash_fen >= wallet.cash_held_fen >= 0, (name, wallet)
    assert_verified(plat)


def _earnings(plat: Platform) -> dict[tuple[int, int], int]:
    from sqlalchemy import func, select

    from gongsheng.adapters import tables as t
    e = t.earnings.c
    with plat.engine.connect() as conn:
        rows = conn.execute(select(e.party_id, e.period, func.sum(e.amount_fen))
                            .group_by(e.party_id, e.period)).all()
    return {(int(p), int(q)): int(v) for p, q, v in rows if v}


def test_migration_0017_attributes_earlier_cash_to_its_orders_periods(city: City) -> None:
    from alembic import command

    from gongsheng.adapters.database import alembic_config, migrate
    plat = city.platform
    first = city.order(100_000)
    plat.close_period()
    city.order(300_000, consumer=city.referrer)
    plat.refund(first.order_id, 40_000, "late-refund")  # in period 2, of a period-1 order
    written = _earnings(plat)
    assert written[(city.merchant, 1)] == 80_000 - 32_000 and written[(city.merchant, 2)] == 240_000
    cfg = alembic_config(plat.engine)
    with plat.engine.begin() as conn:  # a database made before holds existed
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")  # undo 0017 (and the revisions after it)
    migrate(plat.engine)
    assert _earnings(plat) == written
    assert plat.wallet(city.merchant).cash_held_fen == 240_000
