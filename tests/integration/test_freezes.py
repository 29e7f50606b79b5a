"""Freezes of parties under review (``services.freezes``), on SQLite and PostgreSQL.

- a frozen merchant's order is refused and posts nothing; a frozen consumer cannot spend
  vouchers (nor issue a pay code) while its cash orders still earn points; a frozen earner
  cannot withdraw; each refusal is a :class:`PartyFrozen` and changes nothing;
- a frozen holder is not settled: its releases wait in the clearing account and are paid,
  exactly, once it is unfrozen;
- freeze / unfreeze leaves exactly the balances of a party never frozen: a generated history
  run twice, once with freezes (refused requests skipped in the other run), ends with the same
  books (Hypothesis, both databases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DIALECTS, build_city
from gongsheng.adapters import tables as t
from gongsheng.domain.errors import GongshengError, InvalidInput, PartyFrozen
from gongsheng.domain.ledger import AccountKind
from gongsheng.services.freezes import freeze_status
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on

from .helpers import assert_verified, count_rows, held, snapshot

if TYPE_CHECKING:
    from conftest import City

ADMIN = "admin:test"


def test_a_frozen_merchants_order_is_refused_and_posts_nothing(city: City) -> None:
    plat = city.platform
    plat.freeze(city.merchant, reason="wash trading under review", actor=ADMIN)
    before, orders = snapshot(plat), count_rows(plat, t.orders)
    with pytest.raises(PartyFrozen, match="frozen"):
        city.order(100_000)
    assert snapshot(plat) == before and count_rows(plat, t.orders) == orders
    city.order(100_000, merchant=city.home)  # other merchants trade on
    plat.unfreeze(city.merchant, actor=ADMIN)
    assert city.order(100_000).concession_fen == 20_000


def _with_vouchers(city: City) -> None:
    """A earns points in period 1; two closes release vouchers to it."""
    city.order(100_000)
    city.platform.close_period()
    city.platform.close_period()


def test_a_frozen_consumer_cannot_spend_vouchers_but_buys_with_cash(city: City) -> None:
    plat = city.platform
    _with_vouchers(city)
    assert plat.wallet(city.consumer).vouchers_fen > 1_000
    code = plat.pay_code(city.consumer, 1_000).code  # issued before the freeze
    plat.freeze(city.consumer, reason="shared instrument", actor=ADMIN)
    before = snapshot(plat)
    with pytest.raises(PartyFrozen, match="vouchers"):
        plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 1_000, "spend", code))
    with pytest.raises(PartyFrozen):
        plat.pay_code(city.consumer, 1_000)
    assert snapshot(plat) == before
    cash = city.order(10_000)  # a cash order: accepted, earns points
    assert cash.consumer_cpts == 2_000
    plat.unfreeze(city.consumer, actor=ADMIN)  # the code was not used up by the refusal
    spent = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 1_000, "spend", code))
    assert spent.voucher_fen == 1_000
    assert_verified(plat)


def test_a_frozen_earner_cannot_withdraw(unheld_city: City) -> None:
    city, plat = unheld_city, unheld_city.platform
    city.order(1_000_000)  # the partner earns 300.00
    plat.freeze(city.partner, reason="review", actor=ADMIN)
    before = snapshot(plat)
    with pytest.raises(PartyFrozen, match="withdraw"):
        plat.withdraw(city.partner, 10_000, "w-1")
    assert snapshot(plat) == before
    city.order(1_000_000)  # its dividends keep accruing
    plat.unfreeze(city.partner, actor=ADMIN)
    assert plat.withdraw(city.partner, 60_000, "w-2").balance_after_fen == 0


def test_a_frozen_holders_releases_wait_and_are_paid_exactly(city: City) -> None:
    plat = city.platform
    city.order(100_000)
    plat.close_period()
    plat.freeze(city.consumer, reason="review", actor=ADMIN)
    plat.close_period()
    wallet = plat.wallet(city.consumer)
    assert wallet.frozen and wallet.vouchers_fen == 0 and wallet.vouchers_withheld_fen > 0
    owed = wallet.vouchers_withheld_fen
    plat.unfreeze(city.consumer, actor=ADMIN)
    after = plat.wallet(city.consumer)
    assert not after.frozen and after.vouchers_fen == owed and after.vouchers_withheld_fen == 0
    assert_verified(plat)


def test_freezing_is_idempotent_and_recorded(city: City) -> None:
    plat = city.platform
    first = plat.freeze(city.bm, reason="first reason", actor=ADMIN)
    again = plat.freeze(city.bm, reason="another reason", actor="someone else")
    assert first.frozen and again.current is not None and again.current.reason == "first reason"
    done = plat.unfreeze(city.bm, actor=ADMIN)
    assert not done.frozen and done.history[0].unfrozen_by == ADMIN
    assert not plat.unfreeze(city.bm, actor=ADMIN).frozen  # nothing to end: no change
    with pytest.raises(InvalidInput):
        plat.freeze(1, reason="the platform", actor=ADMIN)
    with pytest.raises(InvalidInput):
        plat.freeze(city.bm, reason="  ", actor=ADMIN)
    with plat.engine.connect() as conn:
        from sqlalchemy import select
        types = [r[0] for r in conn.execute(select(t.events.c.type).order_by(t.events.c.id))]
    assert types.count("party.frozen") == 1 and types.count("party.unfrozen") == 1


def test_freeze_entry_points_run_in_the_callers_unit_of_work(city: City) -> None:
    from gongsheng.services.freezes import freeze_party, is_frozen, unfreeze_party
    plat = city.platform
    with UnitOfWork(plat.engine) as uow:
        freeze_party(uow, city.merchant, reason="case 7 confirmed", actor=ADMIN)
        assert is_frozen(uow, city.merchant)
    assert not plat.read(lambda c: is_frozen(stores_on(c), city.merchant))  # not committed: rolled back
    with UnitOfWork(plat.engine) as uow:
        freeze_party(uow, city.merchant, reason="case 7 confirmed", actor=ADMIN)
        uow.commit()
    assert plat.read(lambda c: is_frozen(stores_on(c), city.merchant))
    with UnitOfWork(plat.engine) as uow:
        unfreeze_party(uow, city.merchant, actor=ADMIN)
        uow.commit()
    assert not plat.read(lambda c: is_frozen(stores_on(c), city.merchant))


# --- freeze / unfreeze changes nothing in the end ---------------------------------------------

WHO = ("consumer", "merchant", "partner", "referrer")
OPS = st.one_of(
    st.tuples(st.just("order"), st.integers(1_000, 500_000), st.sampled_from(("consumer", "referrer"))),
    st.tuples(st.just("spend"), st.integers(1, 100), st.just("consumer")),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
    st.tuples(st.just("close"), st.just(0), st.just(0)),
    st.tuples(st.just("withdraw"), st.just(0), st.sampled_from(("merchant", "partner"))),
    st.tuples(st.just("wallet"), st.just(0), st.sampled_from(WHO)),
    st.tuples(st.just("freeze"), st.just(0), st.sampled_from(WHO)),
    st.tuples(st.just("unfreeze"), st.just(0), st.sampled_from(WHO)),
)


def _apply(city: City, op: tuple[str, int, Any], step: int, placed: list[int]) -> None:
    """One step of a history on one city (the same step gives the same request on both)."""
    plat, (kind, n, arg) = city.platform, op
    if kind == "order":
        placed.append(city.order(n, consumer=getattr(city, arg), key=f"o-{step}").order_id)
    elif kind == "spend":  # a share of what a never-frozen consumer would hold: a frozen
        # one's withheld vouchers count, so that both runs ask for the same sale (refused while
        # frozen) and not a sale in one run and none in the other
        wallet = plat.wallet(city.consumer)
        part = (wallet.vouchers_fen + wallet.vouchers_withheld_fen) * n // 100
        if part:
            placed.append(city.order(max(part, 10_000), part, key=f"s-{step}").order_id)
    elif kind == "refund" and placed:
        order_id = placed[n % len(placed)]
        order = plat.read(lambda conn: conn.execute(
            t.orders.select().where(t.orders.c.id == order_id)).one())
        left = order.amount_fen - order.refunded_fen
        if left:
            plat.refund(order_id, max(1, left * arg // 100), f"r-{step}")
    elif kind == "close":
        plat.close_period()
    elif kind == "withdraw":
        party = getattr(city, arg)
        free = plat.wallet(party).cash_available_fen
        if free >= 10_000:
            plat.withdraw(party, free // 2, f"w-{step}")
    elif kind == "wallet":
        plat.wallet(getattr(city, arg))
    elif kind == "freeze":
        plat.freeze(getattr(city, arg), reason=f"step {step}", actor=ADMIN)
    elif kind == "unfreeze":
        plat.unfreeze(getattr(city, arg), actor=ADMIN)


def _books(city: City) -> tuple[Any, ...]:
    """Every party's settled wallet and the trial balance."""
    wallets = []
    for name in ("consumer", "referrer", "merchant", "home", "partner", "promoter", "bm"):
        w = city.platform.wallet(getattr(city, name))
        wallets.append((name, w.points_cpts, w.vouchers_fen, w.voucher_debt_fen, w.cash_fen,
                        w.cash_held_fen, w.cash_available_fen, w.holdings, w.frozen,
                        w.vouchers_withheld_fen))
    return tuple(wallets), city.platform.trial_balance()


@pytest.mark.parametrize("dialect", DIALECTS)
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(OPS, min_size=3, max_size=14))
def test_freeze_and_unfreeze_leave_the_books_of_a_party_never_frozen(
        dialect: str, new_database: Callable[[str], str], open_platform: Callable[..., Platform],
        ops: list[tuple[str, int, Any]]) -> None:
    frozen_run = build_city(open_platform(new_database(dialect)))
    plain_run = build_city(open_platform(new_database(dialect)))
    placed_a: list[int] = []
    placed_b: list[int] = []
    for step, op in enumerate(ops):
        try:
            _apply(frozen_run, op, step, placed_a)
        except PartyFrozen:
            continue  # refused while frozen: the party never frozen never asked
        except GongshengError as err:  # refused for another reason: refused alike in the other
            with pytest.raises(type(err)):
                _apply(plain_run, op, step, placed_b)
            continue
        if op[0] not in ("freeze", "unfreeze"):
            _apply(plain_run, op, step, placed_b)
    for name in WHO:
        frozen_run.platform.unfreeze(getattr(frozen_run, name), actor=ADMIN)
    assert _books(frozen_run) == _books(plain_run)
    assert_verified(frozen_run.platform)


def test_a_refund_while_frozen_takes_back_only_what_was_paid(
        dialect: str, new_database: Callable[[str], str],
        open_platform: Callable[..., Platform]) -> None:
    """A frozen holder's checkpoint lags what it is owed; a refund then takes back only what it
    was paid beyond what its remaining points owe, and after unfreezing it holds what a holder
    never frozen holds."""
    runs = [build_city(open_platform(new_database(dialect))) for _ in range(2)]
    for frozen, city in zip((True, False), runs, strict=True):
        plat = city.platform
        order = city.order(400_000)
        plat.close_period()
        plat.close_period()
        plat.wallet(city.consumer)  # settled once
        if frozen:
            plat.freeze(city.consumer, reason="review", actor=ADMIN)
        plat.close_period()
        before = held(plat, city.consumer, AccountKind.VOUCHERS)
        plat.refund(order.order_id, 150_000, "part")
        plat.close_period()
        plat.refund(order.order_id, 50_000, "more")
        if frozen:  # nothing reached the frozen holder, and it kept what it had been paid
            assert held(plat, city.consumer, AccountKind.VOUCHERS) == before > 0
            plat.unfreeze(city.consumer, actor=ADMIN)
    assert _books(runs[0]) == _books(runs[1])
    assert_verified(runs[0].platform)


def test_the_command_line_freezes_and_unfreezes(city: City, db_url: str) -> None:
    from typer.testing import CliRunner

    from gongsheng.entrypoints.cli import app
    runner = CliRunner()
    done = runner.invoke(app, ["party", "freeze", str(city.merchant), "--reason", "ring", "--db", db_url])
    assert done.exit_code == 0, done.output
    status = city.platform.read(lambda c: freeze_status(stores_on(c), city.merchant))
    assert status.frozen and status.current is not None and status.current.frozen_by.startswith("cli")
    with pytest.raises(PartyFrozen):
        city.order(10_000)
    done = runner.invoke(app, ["party", "unfreeze", str(city.merchant), "--db", db_url])
    assert done.exit_code == 0, done.output
    assert not city.platform.read(lambda c: freeze_status(stores_on(c), city.merchant)).frozen
    missing = runner.invoke(app, ["party", "freeze", "999999", "--reason", "x", "--db", db_url])
    assert missing.exit_code == 3
