"""The outbox: every committed use case leaves exactly its events, a rolled-back or replayed one none.

The same cases run on SQLite and PostgreSQL; the last test has concurrent writers on PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from gongsheng.adapters.event_store import stored_events
from gongsheng.adapters.policy_file import default_policy_text
from gongsheng.domain.errors import InvalidInput, NotFound, RetryTransaction
from gongsheng.domain.events import EVENT_TYPES, OrderPlaced
from gongsheng.services import policies, store
from gongsheng.services.ordering import OrderRequest
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
