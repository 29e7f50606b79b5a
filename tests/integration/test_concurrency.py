"""Concurrent writers on PostgreSQL: no voucher is spent twice, no key is posted twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.ledger import AccountKind
from gongsheng.services import ordering, periods
from gongsheng.services.books import open_period
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import BOOKS_LOCK, UnitOfWork

from .helpers import assert_verified, asset_sums, held

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
    city = make_city(open_platform(pg_url))
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
    opened, never in the one it closed (its first reads are retried, see ``ordering._BEGIN_PG``)."""
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
