"""Concurrent writers on PostgreSQL: no voucher is spent twice, no key is posted twice."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, insert, select, update

from conftest import policy_with_hold
from gongsheng.adapters import holding_store, ledger_store, period_store
from gongsheng.adapters import tables as t
from gongsheng.adapters.locks import BOOKS_LOCK, FAST_POOL_TAKE_FEN, POOL_SLOTS
from gongsheng.adapters.period_store import open_period
from gongsheng.adapters.tables import STRIPES
from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.ledger import (
    AccountKind,
    Asset,
    EntryKind,
    JournalEntry,
    account_id,
    system_account,
)
from gongsheng.services import ordering, periods, refunding
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

from .helpers import assert_verified, asset_sums, held, system

if TYPE_CHECKING:
    from conftest import City

pytestmark = pytest.mark.postgres
THREADS = 8


def at_once(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together; each result or raised error, in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as err:  # collected and checked by the test
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    return results


@pytest.fixture
def pg_city(pg_url: str, open_platform: Callable[..., Platform],
            make_city: Callable[[Platform], City]) -> City:
    # without holds: the payouts below race refunds of earnings made in the same period
    city = make_city(open_platform(pg_url, policy_with_hold(0)))
    city.order(100_000)
    for _ in range(3):  # two releases of 25.00 (the pool pays both): A is owed 50.00, unsettled
        city.platform.close_period()
    return city


@pytest.mark.parametrize("settled", [True, False], ids=["settled", "unsettled"])
def test_concurrent_voucher_spends_never_exceed_the_balance(pg_city: City, settled: bool) -> None:
    city, plat = pg_city, pg_city.platform
    if settled:
        assert plat.wallet(city.consumer).vouchers_fen == 5_000
    spend = 2_000  # 8 x 20.00 wanted, 50.00 held, each sale with its own pay code
    reqs = [city.request(10_000, spend, key=f"spend-{i}") for i in range(THREADS)]
    results = at_once(THREADS, lambda i: plat.order(reqs[i]))
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, InsufficientBalance) for r in refused), refused
    assert sum(r.voucher_fen for r in accepted) <= 5_000
    assert len(accepted) == 2 and len(refused) == THREADS - 2
    assert plat.wallet(city.consumer).vouchers_fen == 5_000 - spend * len(accepted)
    assert set(asset_sums(plat.trial_balance()).values()) == {0}
    assert_verified(plat)


def test_concurrent_wallet_reads_settle_once(pg_city: City) -> None:
    city, plat = pg_city, pg_city.platform
    results = at_once(THREADS, lambda i: plat.wallet(city.consumer).vouchers_fen)
    assert results == [5_000] * THREADS
    assert held(plat, city.consumer, AccountKind.VOUCHERS) == 5_000
    assert_verified(plat)


def test_same_key_from_many_threads_posts_once(pg_city: City) -> None:
    city, plat = pg_city, pg_city.platform
    req = OrderRequest(city.consumer, city.merchant, 77_700, 0, "one-key")
    with plat.engine.connect() as conn:
        entries_before = conn.execute(select(func.count()).select_from(t.journal_entries)).scalar_one()
    results = at_once(THREADS, lambda i: plat.order(req))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.order_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    with plat.engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(t.orders)
                              .where(t.orders.c.idem_key == "one-key")).scalar_one()
        order_entries = conn.execute(select(func.count()).select_from(t.journal_entries).where(
            t.journal_entries.c.kind == "order",
            t.journal_entries.c.ref_id == results[0].order_id)).scalar_one()
        entries_after = conn.execute(select(func.count()).select_from(t.journal_entries)).scalar_one()
    assert (orders, order_entries, entries_after - entries_before) == (1, 1, 1)
    assert_verified(plat)


@pytest.mark.parametrize("voucher_fen", [0, 1_000], ids=["plain", "vouchers"])
def test_an_order_that_waited_for_a_close_lands_in_the_new_period(
        pg_city: City, voucher_fen: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An order that read the books while a close held them is placed in the period the close
    opened, never in the one it closed (its first reads are retried, see ``order_start._BEGIN_PG``)."""
    city, plat = pg_city, pg_city.platform
    closing = plat.read(open_period).seq
    placed: dict[str, Any] = {}
    attempts: list[int] = []
    place_order = ordering.place_order

    def counted(uow: UnitOfWork, req: OrderRequest) -> Any:
        attempts.append(1)
        return place_order(uow, req)

    monkeypatch.setattr(ordering, "place_order", counted)

    req = city.request(10_000, voucher_fen, key=f"waits-{voucher_fen}")

    def order() -> None:
        try:
            placed["order"] = plat.order(req)
        except Exception as err:  # checked below
            placed["error"] = err

    with UnitOfWork(plat.engine) as uow:
        uow.lock_books(exclusive=True)  # a close under way
        waiter = threading.Thread(target=order)
        waiter.start()
        with plat.engine.connect() as probe:  # until the order waits for the books lock
            for _ in range(500):
                if probe.exec_driver_sql(  # this database's books lock, waited for
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                        " AND database = (SELECT oid FROM pg_database"
                        "                 WHERE datname = current_database())"
                        f" AND objid = {BOOKS_LOCK}").scalar():
                    break
                probe.rollback()
                time.sleep(0.01)
            else:
                pytest.fail("the order never waited for the books lock")
        periods.close_period(uow)
        uow.commit()
    waiter.join(30)
    assert not waiter.is_alive() and "error" not in placed, placed
    result = placed["order"]
    assert len(attempts) == 2  # the stale first attempt, then the retry
    assert result.period == closing + 1
    with plat.engine.connect() as conn:
        stamped = conn.execute(select(t.journal_entries.c.period).where(
            t.journal_entries.c.kind == "order",
            t.journal_entries.c.ref_id == result.order_id)).scalar_one()
    assert stamped == closing + 1
    assert_verified(plat)


# --- adjustments: one holder at a time, different holders side by side ----------------------

def _finishes(work: Callable[[], Any], seconds: float) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``work`` in a thread; the thread and where its result (or error) will be."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except Exception as err:  # checked by the test
            out["value"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread, out


@pytest.fixture
def two_merchants(pg_city: City) -> tuple[City, int, int, list[int], list[int]]:
    """The city with a second merchant N and its consumer D, ten orders of 5,000 yuan at each of
    M and N (the pool then holds about 11,000 yuan and each order's share is below the fast
    limit: their refunds share the pool); ``(city, N, D, M's orders, N's orders)``."""
    city = pg_city
    other = city.add_merchant("Merchant N", rate="0.20")
    buyer = city.platform.consumer("Consumer D")
    at_m = [city.order(500_000).order_id for _ in range(10)]
    at_n = [city.order(500_000, consumer=buyer, merchant=other).order_id for _ in range(10)]
    return city, other, buyer, at_m, at_n


def _waits(plat: Platform, thread: threading.Thread | None = None) -> list[Any]:
    """What this database's sessions wait for, the connection pool's state and where
    ``thread`` is (for the message of a failed assertion)."""
    where: list[Any] = [plat.engine.pool.status()]
    frame = sys._current_frames().get(thread.ident or 0) if thread is not None else None
    if frame is not None:
        where.append("".join(traceback.format_stack(frame)))
    with plat.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT pid, pg_blocking_pids(pid), state, wait_event_type, wait_event, left(query, 120)"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
                ] + where


class StripesInTurn:
    """Stands in for the stripe generators: stripes drawn in turn, never the same twice running.

    Two writers meet on a striped row when they draw the same stripe (1 in 64 per account, by
    design); here the writers must not, so that only the locks under test can make one wait.
    """

    def __init__(self) -> None:
        self.drawn = 0

    def randrange(self, n: int) -> int:
        self.drawn += 1
        return self.drawn % n


def test_refunds_and_payouts_of_other_merchants_do_not_wait(
        two_merchants: tuple[City, int, int, list[int], list[int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While a refund at M is under way (not committed), a refund and a payout at N complete; a
    second refund touching M's consumer A waits for the first, then both are exact."""
    city, other, _buyer, at_m, at_n = two_merchants
    stripes = StripesInTurn()
    monkeypatch.setattr(ledger_store, "_rng", stripes)
    monkeypatch.setattr(holding_store, "_rng", stripes)
    monkeypatch.setattr(period_store, "_stripe_rng", stripes)
    plat = city.platform
    cash_before = held(plat, other, AccountKind.CASH)
    with UnitOfWork(plat.engine) as uow:
        refunding.refund_order(uow, at_m[0], 50_000, "m-open")
        done, n_refund = _finishes(lambda: plat.refund(at_n[0], 50_000, "n-refund"), 30)
        assert not done.is_alive(), _waits(plat, done)
        assert not isinstance(n_refund["value"], Exception), n_refund
        done, n_payout = _finishes(lambda: plat.withdraw(other, 20_000, "n-payout"), 30)
        assert not done.is_alive(), _waits(plat, done)
        assert not isinstance(n_payout["value"], Exception), n_payout
        waiting, same = _finishes(lambda: plat.refund(at_m[1], 30_000, "m-second"), 1)
        assert waiting.is_alive()  # the same consumer and merchant: it waits for the first
        uow.commit()
    waiting.join(30)
    assert not waiting.is_alive() and not isinstance(same["value"], Exception), same
    refunded = {o.order_id: o.refunded_fen for o in (plat.read(ordering.get_order, i)
                                                     for i in (at_m[0], at_m[1], at_n[0]))}
    assert refunded == {at_m[0]: 50_000, at_m[1]: 30_000, at_n[0]: 50_000}
    reversed_cash = n_refund["value"].amount_fen - n_refund["value"].concession_reversed_fen
    assert held(plat, other, AccountKind.CASH) == cash_before - 20_000 - reversed_cash
    assert_verified(plat)


@pytest.mark.parametrize("funded", [True, False], ids=["pool-shared", "pool-low"])
def test_concurrent_refunds_and_payouts_keep_the_books_exact(
        two_merchants: tuple[City, int, int, list[int], list[int]], funded: bool) -> None:
    """Many refunds of both merchants' orders and payouts at once: every refund lands once, the
    pool never goes negative (with a drained pool the platform covers exactly), verify holds."""
    city, other, _buyer, at_m, at_n = two_merchants
    plat = city.platform
    if not funded:  # release what the pool holds: refunds must now take the pool alone
        for _ in range(4):
            plat.close_period()
    shared_from = POOL_SLOTS * FAST_POOL_TAKE_FEN  # sharing needs (slots - 1) x limit + take
    assert (system(plat, AccountKind.POOL_AVAILABLE) >= shared_from) is funded
    orders = at_m[:4] + at_n[:4]
    results = at_once(THREADS * 2, lambda i: (
        plat.withdraw(other, 1_000, f"pay-{i}") if i % 4 == 3
        else plat.refund(orders[i % len(orders)], 100_000 + i, f"refund-{i}")))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    refunded = sum(plat.read(ordering.get_order, o).refunded_fen for o in orders)
    assert refunded == sum(100_000 + i for i in range(THREADS * 2) if i % 4 != 3)
    assert set(asset_sums(plat.trial_balance()).values()) == {0}
    assert_verified(plat)


def test_concurrent_refunds_from_a_started_group_keep_its_row_exact(
        two_merchants: tuple[City, int, int, list[int], list[int]]) -> None:
    """Refunds of released orders at two merchants by two consumers at once, the pool shared:
    each waits for the one started group's row, then takes its points out and sets the group's
    points and issued vouchers from the row as the previous refund left it. A refund that
    summed the group's points in the statement that waited for its lock read them as they
    stood before that wait, and left the group's points and issued vouchers wrong."""
    city, _other, _buyer, at_m, at_n = two_merchants
    plat = city.platform
    for _ in range(2):  # the orders' group starts: their refunds take back released vouchers
        plat.close_period()
    for _ in range(4):  # the pool holds enough again for refunds to share it
        city.order(500_000)
    assert system(plat, AccountKind.POOL_AVAILABLE) >= POOL_SLOTS * FAST_POOL_TAKE_FEN + 50_000
    orders = [o for pair in zip(at_m, at_n, strict=True) for o in pair]
    results = at_once(THREADS * 2, lambda i: plat.refund(orders[i % len(orders)], 5_000 + i,
                                                         f"started-{i}"))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert sum(r.clawback_fen for r in results) > 0  # released vouchers were taken back
    assert_verified(plat)


def _adjust(legs: list[tuple[int, Asset, int]]) -> JournalEntry:
    entry = JournalEntry.build(EntryKind.ADJUSTMENT, legs)
    assert entry is not None
    return entry


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as err:  # checked by the test
            out.append(err)

    th = threading.Thread(target=run)
    th.start()
    return th, out


def test_a_take_waits_for_a_concurrent_write_and_takes_from_what_it_committed(pg_city: City) -> None:
    """The entry's one statement locks the row it takes from and takes from the amount it
    locked, not from the amount its snapshot saw: 100 held, 100 more committed while the take
    of 150 waits, 50 left (the snapshot's 100 would have refused it)."""
    engine = pg_city.platform.engine
    vouchers = account_id(pg_city.merchant, AccountKind.VOUCHERS)
    issued = system_account(AccountKind.VOUCHERS_ISSUED)
    with engine.begin() as conn:
        before = ledger_store.balance(conn, vouchers, Asset.VCH)
        ledger_store.post(conn, _adjust([(vouchers, Asset.VCH, 100 - before),
                                         (issued, Asset.VCH, before - 100)]), 1)
    other = engine.connect()
    other.begin()
    ledger_store.post(other, _adjust([(vouchers, Asset.VCH, 100), (issued, Asset.VCH, -100)]), 1)

    def take() -> int:
        with engine.begin() as conn:
            return ledger_store.post(conn, _adjust([(vouchers, Asset.VCH, -150),
                                                    (issued, Asset.VCH, 150)]), 1)

    th, out = _in_thread(take)
    time.sleep(0.5)  # the take waits for the row the other transaction holds
    assert th.is_alive()
    other.commit()
    other.close()
    th.join(30)
    assert not isinstance(out[0], Exception), out[0]
    with engine.connect() as conn:
        assert ledger_store.balance(conn, vouchers, Asset.VCH) == 50


@pytest.mark.parametrize("row", ["existing", "new"])
def test_a_take_back_and_an_order_lock_balance_rows_in_one_order(
        pg_city: City, monkeypatch: pytest.MonkeyPatch, row: str) -> None:
    """An order adds to a system row, then to the merchant's points (key order); a take-back of
    the merchant's points adds to the same system row (one that exists, or one the order is
    creating). The take-back's statement locks the system row before the points, as the order
    does, so it waits and both commit (locking the points first deadlocked them)."""
    stripe = 5
    monkeypatch.setattr(ledger_store, "_rng", type("Fixed", (), {"randrange": lambda _, n: 5})())
    engine = pg_city.platform.engine
    points = account_id(pg_city.merchant, AccountKind.POINTS)
    source = system_account(AccountKind.POINTS_ISSUED)
    assert source < points
    with engine.begin() as conn:  # the system row on stripe 5 exists; the merchant holds points
        ledger_store.post(conn, _adjust([(points, Asset.PTS, 100), (source, Asset.PTS, -100)]), 1)
    order = engine.connect()
    order.begin()
    if row == "existing":
        order.execute(update(t.balances).where(t.balances.c.account_id == source,
                                               t.balances.c.stripe == 5)
                      .values(amount=t.balances.c.amount - 5))
    else:  # the order creates the system row on a stripe nobody wrote before
        b = t.balances
        with engine.connect() as conn:  # the city's own orders wrote on random stripes
            used = set(conn.execute(select(b.c.stripe).where(b.c.account_id == source,
                                                             b.c.asset == Asset.PTS.value)
                                    ).scalars())
        stripe = next(s for s in range(STRIPES) if s not in used)
        order.execute(insert(b).values(account_id=source, asset=Asset.PTS.value,
                                       stripe=stripe, amount=-5, nonneg=False))
    monkeypatch.setattr(ledger_store, "_rng", type("Fixed", (), {"randrange": lambda _, n: stripe})())

    def take_back() -> int:
        with engine.begin() as conn:
            return ledger_store.post(conn, _adjust([(points, Asset.PTS, -10),
                                                    (source, Asset.PTS, 10)]), 1)

    th, out = _in_thread(take_back)
    time.sleep(0.5)
    order.execute(update(t.balances).where(t.balances.c.account_id == points)
                  .values(amount=t.balances.c.amount + 5))
    order.commit()
    order.close()
    th.join(30)
    assert not isinstance(out[0], Exception), out[0]


def test_verify_beside_orders_and_refunds_reads_one_snapshot(pg_city: City) -> None:
    """Every check of one ``verify`` reads the same committed state: orders and refunds
    committing while it runs never make two of its reads disagree (no false alarm)."""
    from gongsheng.views import verification

    city, plat = pg_city, pg_city.platform
    stop = threading.Event()
    placed: list[int] = []

    def trade() -> None:
        while not stop.is_set():
            result = city.order(1_000 + len(placed))
            placed.append(result.order_id)
            if len(placed) % 3 == 0:
                plat.refund(placed[-2], 500, f"refund-{len(placed)}")

    thread, errors = _in_thread(trade)
    found, overlapped = [], 0
    try:
        while overlapped < 4 and len(found) < 40:
            before = len(placed)
            found.append(verification.verify(plat))
            overlapped += len(placed) > before
    finally:
        stop.set()
        thread.join(60)
    assert errors == [None], errors
    assert overlapped == 4, "orders must commit while verify runs"
    failed = [(c.name, c.detail) for checks in found for c in checks if not c.ok]
    assert not failed, failed
    assert_verified(plat)
