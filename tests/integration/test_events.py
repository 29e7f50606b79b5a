"""The outbox: every committed use case leaves exactly its events, a rolled-back or replayed one none.

The same cases run on SQLite and PostgreSQL; the last test has concurrent writers on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from gongsheng.adapters import order_store
from gongsheng.adapters import tables as t
from gongsheng.adapters.event_store import stored_events
from gongsheng.adapters.policy_file import default_policy_text
from gongsheng.domain.errors import InvalidInput, NotFound, RetryTransaction
from gongsheng.domain.events import EVENT_TYPES, OrderPlaced, PayoutMade
from gongsheng.services import policies, store
from gongsheng.services.batch import place_orders
from gongsheng.services.ordering import OrderRequest, OrderResult, order_placed
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from conftest import City


def events(plat: Platform, after: int = 0) -> list[dict[str, Any]]:
    return plat.read(stored_events, after, 100_000)


def last_id(plat: Platform) -> int:
    found = events(plat)
    return found[-1]["id"] if found else 0


def new_events(plat: Platform, since: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"], e["body"]) for e in events(plat, since)]


def test_registration_records_one_event_per_party(city: City) -> None:
    registered = [e for e in events(city.platform) if e["type"] == "party.registered"]
    assert sorted((e["body"]["party_id"], e["body"]["kind"]) for e in registered) == sorted([
        (city.partner, "partner"), (city.promoter, "promoter"), (city.bm, "bm"),
        (city.home, "merchant"), (city.merchant, "merchant"), (city.referrer, "consumer"),
        (city.consumer, "consumer")])
    assert len({e["event_id"] for e in registered}) == len(registered)
    assert all(e["event_id"].startswith("evt_") and e["version"] == 1 for e in registered)


def test_an_order_records_its_figures_once_and_a_replay_nothing(city: City) -> None:
    plat = city.platform
    since = last_id(plat)
    order = city.order(100_000, key="o-1")
    [(kind, body)] = new_events(plat, since)
    assert kind == "order.placed"
    assert body["order_id"] == order.order_id
    assert body["amount_fen"] == order.amount_fen == 100_000
    assert body["concession_fen"] == order.concession_fen
    assert body["consumer_cpts"] == order.consumer_cpts
    assert body["referrer_id"] == city.referrer
    paid = sum(a["amount_fen"] for a in body["allocations"] if a["party_id"] is not None)
    assert paid + body["pool_fen"] == body["concession_fen"]
    since = last_id(plat)
    assert city.order(100_000, key="o-1").replayed
    assert new_events(plat, since) == []


def test_refund_payout_close_and_policy_record_their_events(unheld_city: City) -> None:
    city = unheld_city  # the payout comes before the close: no hold on the partner's dividend
    plat = city.platform
    order = city.order(1_000_000)  # the partner earns 15% of C = 30,000 fen
    since = last_id(plat)
    refund = plat.refund(order.order_id, 100_000, "r-1")
    plat.refund(order.order_id, 100_000, "r-1")  # a replay
    payout = plat.withdraw(city.partner, 20_000, "p-1")
    plat.withdraw(city.partner, 20_000, "p-1")  # a replay
    plat.run(policies.schedule_toml, default_policy_text().replace('name = "default"',
                                                                   'name = "second"'))
    closed = plat.close_period()
    plat.close_period(closed.period)  # already closed: nothing
    got = new_events(plat, since)
    assert [kind for kind, _ in got] == ["order.refunded", "payout.made",
                                         "policy.version_scheduled", "period.closed",
                                         "policy.version_activated"]
    assert got[0][1]["refund_id"] == refund.refund_id
    assert got[0][1]["concession_reversed_fen"] == refund.concession_reversed_fen
    assert got[1][1] == {"payout_id": payout.payout_id, "party_id": city.partner,
                         "amount_fen": 20_000, "balance_after_fen": payout.balance_after_fen}
    assert got[2][1]["active_from_period"] == closed.period + 1
    assert got[3][1]["released_fen"] == closed.released_fen
    assert got[3][1]["release_rate"] == closed.release_rate
    assert got[4][1]["version_id"] == got[2][1]["version_id"]
    stored = events(plat, since)
    assert [e["period"] for e in stored] == [closed.period] * 4 + [closed.period + 1]


def test_store_exchange_and_profit_record_their_events(city: City) -> None:
    plat = city.platform
    city.order(100_000)  # A holds 20,000 centi-points not yet releasing
    programme = plat.run(store.open_programme, city.merchant, 1_000, 50, "0.5")
    since = last_id(plat)
    spent = plat.run(store.exchange, city.consumer, programme, 3)
    assert new_events(plat, since) == [
        ("store.points_exchanged", {"consumer_id": city.consumer, "programme_id": programme,
                                    "units": 3, "points_cpts": spent})]
    plat.close_period()  # the dividend is paid from the merchant's available (no longer held) cash
    since = last_id(plat)
    paid = plat.run(store.declare_profit, programme, 10_000)
    assert new_events(plat, since) == [
        ("store.profit_declared", {"programme_id": programme, "profit_fen": 10_000,
                                   "paid_fen": paid})]


def test_a_refused_or_rolled_back_use_case_leaves_no_event(city: City) -> None:
    plat = city.platform
    since = last_id(plat)
    with pytest.raises(NotFound):
        city.order(1_000, consumer=10**9)
    with pytest.raises(InvalidInput):
        plat.refund(city.order(1_000).order_id, 5_000, "too-much")
    assert [kind for kind, _ in new_events(plat, since)] == ["order.placed"]

    since = last_id(plat)

    def records_then_fails(uow: UnitOfWork) -> None:
        uow.record(OrderPlaced(period=1, order_id=1, consumer_id=1, merchant_id=1, channel="x",
                               amount_fen=1, voucher_fen=0, concession_fen=0, pool_fen=0,
                               consumer_cpts=0, merchant_cpts=0, referrer_id=None,
                               referrer_cpts=0, allocations=()))
        raise InvalidInput("refused after recording")

    with pytest.raises(InvalidInput):
        plat.run(records_then_fails)
    with UnitOfWork(plat.engine) as uow:  # left without commit
        uow.record(OrderPlaced(period=1, order_id=2, consumer_id=1, merchant_id=1, channel="x",
                               amount_fen=1, voucher_fen=0, concession_fen=0, pool_fen=0,
                               consumer_cpts=0, merchant_cpts=0, referrer_id=None,
                               referrer_cpts=0, allocations=()))
    assert new_events(plat, since) == []


def stored_bodies(plat: Platform, since: int) -> list[str]:
    """The stored JSON text of every event after row ``since``, in id order."""
    return list(plat.read(lambda c: c.execute(
        select(t.events.c.body).where(t.events.c.id > since).order_by(t.events.c.id)).scalars().all()))


def canonical(event: OrderPlaced) -> str:
    return json.dumps(event.body(), separators=(",", ":"), sort_keys=True)


def test_an_order_s_stored_body_is_its_event_s_body_exactly(city: City) -> None:
    """On PostgreSQL the order's statement writes the event, its id spliced into the body."""
    since = last_id(city.platform)
    order = city.order(123_456)
    assert stored_bodies(city.platform, since) == [canonical(order_placed(order))]


def test_a_batch_records_one_event_per_new_order_in_the_batch_s_order(city: City) -> None:
    plat = city.platform
    used = city.order(10_000, key="used")
    since = last_id(plat)
    reqs = [city.request(11_000, key="b-1"), city.request(12_000, consumer=city.referrer, key="b-2"),
            city.request(10_000, key="used"),  # a replay of an order placed before
            city.request(11_000, key="b-1"),  # a replay of this batch's first
            city.request(13_000, consumer=10**9, key="b-none"),  # refused: no such consumer
            city.request(14_000, key="b-3")]
    out = plat.run(place_orders, reqs)
    assert [type(o) for o in out] == [OrderResult] * 4 + [NotFound, OrderResult]
    assert [o.replayed for o in out if isinstance(o, OrderResult)] == [False, False, True, True, False]
    assert out[2].order_id == used.order_id and out[3].order_id == out[0].order_id
    new = [out[0], out[1], out[5]]
    got = events(plat, since)
    assert [e["type"] for e in got] == ["order.placed"] * 3
    assert [e["body"] for e in got] == [order_placed(o).body() for o in new]
    assert stored_bodies(plat, since) == [canonical(order_placed(o)) for o in new]


def test_a_gathered_write_refused_after_recording_leaves_no_event_of_its_own(
        city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's gathered write fails after its orders' events were recorded (and, on
    PostgreSQL, written by its statement): its SAVEPOINT takes them back, and the orders placed
    one by one instead record theirs, once each."""
    plat = city.platform
    since = last_id(plat)
    real_insert, real_earnings, calls = order_store.insert_orders_pg, order_store.earnings_rows, [0, 0]

    def insert_then_fail(*args: Any) -> Any:  # PostgreSQL: the whole statement ran
        written = real_insert(*args)
        calls[0] += 1
        if calls[0] == 1:
            raise InvalidInput("refused after the statement")
        return written

    def earnings_once_failing(*args: Any) -> Any:  # SQLite: the first order's event is recorded
        calls[1] += 1
        if calls[1] == 2:
            raise InvalidInput("refused at the second order")
        return real_earnings(*args)

    monkeypatch.setattr(order_store, "insert_orders_pg", insert_then_fail)
    monkeypatch.setattr(order_store, "earnings_rows", earnings_once_failing)
    out = plat.run(place_orders, [city.request(10_000 + i) for i in range(3)])
    assert all(isinstance(o, OrderResult) and not o.replayed for o in out)
    assert sum(calls) >= 3  # the refusal happened, then each order went in alone
    got = events(plat, since)
    assert [e["body"] for e in got] == [order_placed(o).body() for o in out]  # type: ignore[arg-type]


def test_a_rolled_back_savepoint_drops_its_events_and_keeps_the_others(platform: Platform) -> None:
    since = last_id(platform)

    def payout(n: int) -> PayoutMade:
        return PayoutMade(period=1, payout_id=n, party_id=1, amount_fen=n, balance_after_fen=0)

    with UnitOfWork(platform.engine) as uow:
        uow.record(payout(1))
        with pytest.raises(InvalidInput), uow.savepoint():
            uow.record(payout(2))
            uow.audit("test.refused", "payout:2")
            raise InvalidInput("refused")
        with uow.savepoint():
            uow.record(payout(3))
        uow.record(payout(4))
        assert len(uow.audits) == 0
        uow.commit()
    assert [e["body"]["payout_id"] for e in events(platform, since)] == [1, 3, 4]


def test_a_statement_writes_events_only_in_a_unit_of_work_savepoint(platform: Platform) -> None:
    with UnitOfWork(platform.engine) as uow, uow.conn.begin_nested(), \
            pytest.raises(RuntimeError, match="savepoint"), uow.outbox():
        pass


def test_every_event_type_has_a_distinct_name() -> None:
    names = [cls.type for cls in EVENT_TYPES.values()]
    assert all(names) and len(set(names)) == len(names)
    assert all("." in name for name in names)


@pytest.mark.postgres
def test_concurrent_orders_and_refunds_never_lose_or_duplicate_an_event(
        pg_url: str, open_platform: Any, make_city: Any) -> None:
    city = make_city(open_platform(pg_url))
    plat = city.platform
    since = last_id(plat)
    threads, per_thread = 6, 15
    placed: list[list[int]] = [[] for _ in range(threads)]
    refunded: list[list[int]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    gave_up: list[tuple[int, int]] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            for j in range(per_thread):
                try:  # a deadlock retried to no avail commits nothing, and records nothing
                    order = plat.order(OrderRequest(city.consumer, city.merchant, 1_000 + j, 0,
                                                    f"t{i}-{j}"))
                    placed[i].append(order.order_id)
                    if j % 3 == 0:
                        refunded[i].append(
                            plat.refund(order.order_id, 500, f"r{i}-{j}").refund_id)
                except RetryTransaction:
                    gave_up.append((i, j))
        except BaseException as err:  # collected and re-raised by the test
            errors.append(err)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    got = events(plat, since)
    orders = sorted(e["body"]["order_id"] for e in got if e["type"] == "order.placed")
    refunds = sorted(e["body"]["refund_id"] for e in got if e["type"] == "order.refunded")
    assert orders == sorted(o for ids in placed for o in ids)
    assert refunds == sorted(r for ids in refunded for r in ids)
    assert len(got) == len(orders) + len(refunds)
    assert len({e["event_id"] for e in got}) == len(got)
    assert len(orders) > threads * per_thread // 2, gave_up  # most went through
