"""The release engine (issue 3) on SQLite and PostgreSQL: periods, controllers, the worked example.

Points earned in period t start releasing in t+1, i.e. at the close of period t+1: the worked
example's order in period 1 releases at the closes of periods 2, 3, ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text, load_policy
from gongsheng.domain.errors import NotFound, PolicyError
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.policy import Policy
from gongsheng.domain.release import SCALE, nominal_rate
from gongsheng.services import wallets
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

from .helpers import assert_verified, held, snapshot, system

if TYPE_CHECKING:
    from conftest import City

CAP_A = 100_000  # A's 200 points x 5 = 1000.00 yuan


def policy_with(tmp_path: Path, controller: str) -> Policy:
    """The default policy with another controller, written to a TOML file and loaded from it."""
    text, n = re.subn(r'(?m)^controller = "budget"', f'controller = "{controller}"',
                      default_policy_text())
    assert n == 1
    path = tmp_path / f"{controller}.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.fixture
def promise_city(db_url: str, tmp_path: Path, open_platform: Callable[..., Platform],
                 make_city: Callable[[Platform], City]) -> City:
    plat = open_platform(db_url, policy_with(tmp_path, "promise"))
    return make_city(plat)


def period_status(plat: Platform) -> dict[int, str]:
    with plat.engine.connect() as conn:
        return {int(s): str(v) for s, v in conn.execute(select(t.periods.c.seq, t.periods.c.status))}


def test_promise_releases_the_cap_in_40_periods(promise_city: City) -> None:
    city, plat = promise_city, promise_city.platform
    city.order(100_000)
    first = plat.close_period(force_promise=True)
    assert first.released_fen == 0  # period 1's points start in period 2
    assert plat.wallet(city.consumer).vouchers_fen == 0
    unfunded = 0
    for n in range(1, 41):
        summary = plat.close_period(force_promise=True)
        assert summary.nominal_periods == 40
        assert summary.release_rate == "0.025"
        unfunded += summary.unfunded_fen
        assert plat.wallet(city.consumer).vouchers_fen == 2_500 * n
    assert plat.wallet(city.consumer).vouchers_fen == CAP_A
    assert plat.wallet(city.merchant).vouchers_fen == 45_000
    assert plat.wallet(city.referrer).vouchers_fen == 25_000
    (holding,) = plat.wallet(city.consumer).holdings
    assert holding["released_fraction"] == "1" and holding["released_fen"] == CAP_A
    assert holding["periods_to_complete"] == 0
    # the pool held 90.00 against 1700.00 released: the gap is reported, and the pool is short
    assert unfunded == 170_000 - 9_000
    assert system(plat, AccountKind.POOL_AVAILABLE) == 9_000 - 170_000
    assert plat.close_period(force_promise=True).released_fen == 0  # complete: nothing more
    assert_verified(plat)


def test_promise_releases_in_36_periods_when_gmv_grows_15_percent(promise_city: City) -> None:
    city, plat = promise_city, promise_city.platform
    grower = plat.consumer("Grower")
    city.order(100_000)
    plat.close_period(force_promise=True)
    gmv = 100_000
    step = nominal_rate(36)
    for n in range(1, 37):
        gmv = gmv * 115 // 100 + 1  # at least 15% more than the period before
        city.order(gmv, consumer=grower)
        summary = plat.close_period(force_promise=True)
        assert summary.nominal_periods == 36
        vouchers = plat.wallet(city.consumer).vouchers_fen
        assert vouchers == min(CAP_A, CAP_A * step * n // SCALE)
        assert (vouchers < CAP_A) == (n < 36)
    assert plat.wallet(city.consumer).vouchers_fen == CAP_A
    assert_verified(plat)


def test_promise_is_refused_unless_forced(promise_city: City) -> None:
    city, plat = promise_city, promise_city.platform
    city.order(100_000)
    before = snapshot(plat)
    with pytest.raises(PolicyError, match="promise"):
        plat.close_period()
    assert snapshot(plat) == before
    assert period_status(plat) == {1: "open"}
    summary = plat.close_period(force_promise=True)
    assert summary.period == 1 and summary.controller == "promise"
    summary = plat.close_period(force_promise=True)
    assert summary.unfunded_fen == 0  # 42.50 released from a pool of 90.00
    assert {f.flag for f in summary.figures.risk_flags} == set()


def test_budget_with_a_small_pool_releases_slower_and_never_overdraws(city: City) -> None:
    plat = city.platform
    small = plat.consumer("Small spender")
    inflow = city.order(100_000).pool_fen
    plat.close_period()
    slower = 0
    for n in range(1, 41):
        inflow += city.order(5_000, consumer=small).pool_fen  # 5.00 a period to the pool
        summary = plat.close_period()
        assert summary.pool_available_fen >= 0
        assert system(plat, AccountKind.POOL_AVAILABLE) >= 0
        vouchers = plat.wallet(city.consumer).vouchers_fen
        assert vouchers <= 2_500 * n
        slower += summary.release_rate != "0.025"
    assert slower >= 30
    assert "release_below_nominal" in {f.flag for f in summary.figures.risk_flags}
    released = plat.wallet(city.consumer).vouchers_fen
    assert 0 < released < CAP_A // 2
    # every fen released was in the pool
    with plat.engine.connect() as conn:
        total = sum(int(v or 0) for v in conn.execute(select(t.periods.c.released_fen)).scalars())
    assert inflow == 9_000 + 40 * 500
    assert total <= inflow
    assert_verified(plat)


def test_close_is_idempotent_for_a_given_period(city: City) -> None:
    plat = city.platform
    city.order(100_000)
    first = plat.close_period(expected=1)
    assert (first.period, first.already_closed) == (1, False)
    after = snapshot(plat)
    again = plat.close_period(expected=1)
    assert again.already_closed
    assert (again.period, again.release_rate, again.released_fen, again.figures) == (
        first.period, first.release_rate, first.released_fen, first.figures)
    assert snapshot(plat) == after
    assert period_status(plat) == {1: "closed", 2: "open"}

    second = plat.close_period(expected=2)
    assert second.released_fen == 4_250 and not second.already_closed
    after = snapshot(plat)
    assert plat.close_period(expected=2).released_fen == 4_250
    assert plat.close_period(expected=1).period == 1
    assert snapshot(plat) == after
    with pytest.raises(NotFound):
        plat.close_period(expected=7)
    assert snapshot(plat) == after
    assert period_status(plat) == {1: "closed", 2: "closed", 3: "open"}


def test_refund_after_release_takes_vouchers_back_and_nets_the_debt(promise_city: City) -> None:
    """Forced ``promise`` keeps the release at 1/N, so the netting of the debt is exact to the fen."""
    city, plat = promise_city, promise_city.platform
    first = city.order(100_000)
    for _ in range(3):
        plat.close_period(force_promise=True)
    assert plat.wallet(city.consumer).vouchers_fen == 5_000
    city.order(10_000, 4_000)  # A spends 40.00 of its vouchers (and earns 20 points)
    refund = plat.refund(first.order_id, 100_000, "refund-after-release")
    assert refund.clawback_fen == 5_000 + 2_250 + 1_250  # A, M and B: two periods each
    wallet = plat.wallet(city.consumer)
    assert (wallet.vouchers_fen, wallet.voucher_debt_fen) == (0, -4_000)
    assert [h["points_cpts"] for h in wallet.holdings] == [0, 2_000]
    assert_verified(plat)
    debts = []
    for _ in range(20):
        plat.close_period(force_promise=True)
        wallet = plat.wallet(city.consumer)
        debts.append(wallet.voucher_debt_fen)
        released = wallet.holdings[1]["released_fen"]  # 2.50 a period on the new holding
        assert wallet.voucher_debt_fen == min(0, released - 4_000)
        assert wallet.vouchers_fen == max(0, released - 4_000)
    assert released == 19 * 250
    assert debts == sorted(debts) and debts[-1] == 0
    assert held(plat, city.consumer, AccountKind.VOUCHERS) == 750
    assert_verified(plat)


def test_live_engine_refuses_the_per_holder_valve(tmp_path: Path) -> None:
    """A policy the live engine cannot apply exactly is refused, never silently ignored."""
    text = default_policy_text().replace('holder_spend_cap_multiple = ""',
                                         'holder_spend_cap_multiple = "2"')
    path = tmp_path / "valve.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="holder_spend_cap_multiple"):
        Platform.open(f"sqlite:///{tmp_path / 'valve.db'}", load_policy(path))


def test_a_wallet_read_commits_its_settlement_without_relaxing_other_commits(
        promise_city: City) -> None:
    """The settlement a wallet read makes is committed (another connection sees it); on
    PostgreSQL only that transaction commits without waiting for the disk."""
    city, plat = promise_city, promise_city.platform
    city.order(100_000)
    for _ in range(3):
        plat.close_period(force_promise=True)
    assert held(plat, city.consumer, AccountKind.VOUCHERS) == 0  # released, not yet settled
    postgres = plat.engine.dialect.name == "postgresql"
    with UnitOfWork(plat.engine) as uow:
        if postgres:  # test databases commit lazily by default; this session does not
            uow.conn.exec_driver_sql("SET SESSION synchronous_commit = on")
        vouchers = wallets.wallet(uow, city.consumer, alone=True).vouchers_fen
        if postgres:
            assert uow.conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        uow.commit()
        if postgres:  # the setting was the transaction's own
            assert uow.conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            uow.conn.exec_driver_sql("RESET synchronous_commit")
    assert vouchers == 5_000
    assert held(plat, city.consumer, AccountKind.VOUCHERS) == 5_000
    assert plat.wallet(city.consumer).vouchers_fen == 5_000  # settled once, not twice
    assert_verified(plat)
