"""Ring detectors, the velocity cap and abuse cases on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.domain.errors import CaseTransitionRefused, InvalidInput, VelocityCapExceeded
from gongsheng.domain.policy import Policy
from gongsheng.services import cases, rings, risk
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import stores_on

from .helpers import assert_verified, count_rows, snapshot

if TYPE_CHECKING:
    from conftest import City


def risk_policy(**settings: int) -> Policy:
    """The default policy with extra ``[risk]`` settings."""
    text = default_policy_text()
    extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
    text = text.replace("[risk]\n", "[risk]\n" + extra, 1)
    return parse_policy_text(text, "a test policy")


def paid(city: City, consumer: int, ref: str | None, device: str | None = None,
         amount: int = 10_000, merchant: int | None = None) -> int:
    merchant = city.merchant if merchant is None else merchant
    return city.platform.order(OrderRequest(consumer, merchant, amount, 0, city.key(), None,
                                            ref, device)).order_id


def case_rows(plat: Platform) -> list[cases.Case]:
    return plat.read(lambda c: [cases.get_case(stores_on(c), k.id)
                               for k in cases.list_cases(stores_on(c)).items])


def test_planted_ring_sharing_the_merchants_instrument_opens_a_case(city: City) -> None:
    plat = city.platform
    plat.run(rings.register_identifiers, city.merchant, ["card:merchant-own"], [])
    ring = [plat.consumer(f"Ring {i}") for i in range(3)]
    honest = plat.consumer("Honest")
    ring_orders = [paid(city, c, "card:merchant-own", f"dev:{i}") for i, c in enumerate(ring)]
    paid(city, honest, "card:honest", "dev:honest")
    assert case_rows(plat) == []  # the order path only stores the identifiers
    plat.close_period()
    found = case_rows(plat)
    assert len(found) == 1
    case = found[0]
    assert case.status == "open" and case.detector == "wash_trading"
    parties = {p["party_id"]: p["role"] for p in case.parties}
    assert parties == {city.merchant: "merchant", **{c: "consumer" for c in ring}}
    assert set(case.order_ids) == set(ring_orders)
    assert honest not in parties
    listed = plat.read(lambda c: risk.risk(stores_on(c)))["flags"]
    assert {f["flag"] for f in listed} >= {"wash_trading"}
    assert all(f["case_id"] == case.id for f in listed if f["flag"] == "wash_trading")
    # the same order identifiers in a later period add the order to the open case, not a new case
    again = paid(city, ring[0], "card:merchant-own", "dev:0")
    plat.close_period()
    assert len(case_rows(plat)) == 1
    assert again in plat.read(lambda c: cases.get_case(stores_on(c), case.id)).order_ids


def test_consumers_sharing_a_device_chain_form_a_ring(city: City) -> None:
    plat = city.platform
    ring = [plat.consumer(f"Ring {i}") for i in range(3)]
    # a chain: 0 and 1 share a card, 1 and 2 a device; 0 and 2 share nothing directly
    paid(city, ring[0], "card:a")
    paid(city, ring[1], "card:a", "dev:b")
    plat.close_period()
    assert case_rows(plat) == []  # two connected consumers are not a ring
    for consumer, card, device in ((ring[0], "card:a", None), (ring[1], "card:a", "dev:b"),
                                   (ring[2], None, "dev:b")):
        paid(city, consumer, card, device)
    plat.close_period()
    found = case_rows(plat)
    assert [k.detector for k in found] == ["wash_ring"]
    assert {p["party_id"] for p in found[0].parties} == {city.merchant, *ring}


def test_referrer_sharing_a_device_with_its_referee(city: City) -> None:
    plat = city.platform
    paid(city, city.referrer, None, "dev:shared", merchant=city.home)
    paid(city, city.consumer, None, "dev:shared")
    plat.close_period()
    found = case_rows(plat)
    assert [k.detector for k in found] == ["self_referral_ring"]
    assert {p["party_id"] for p in found[0].parties} == {city.referrer, city.consumer}


def test_merchants_buying_from_each_other_are_found_at_close(city: City) -> None:
    plat = city.platform
    other = city.add_merchant("Merchant N")
    plat.run(rings.register_identifiers, city.merchant, ["card:m"], [])
    plat.run(rings.register_identifiers, other, ["card:n"], [])
    buyer_m, buyer_n = plat.consumer("Fake of M"), plat.consumer("Fake of N")
    paid(city, buyer_m, "card:m", merchant=other)   # M buys at N
    paid(city, buyer_n, "card:n", merchant=city.merchant)  # N buys at M
    assert case_rows(plat) == []
    plat.close_period()
    circular = [k for k in case_rows(plat) if k.detector == "circular_trading"]
    assert len(circular) == 1
    assert {p["party_id"] for p in circular[0].parties} == {city.merchant, other}
    plat.close_period()  # the next close sees no new circle in its period
    assert len([k for k in case_rows(plat) if k.detector == "circular_trading"]) == 1


@pytest.mark.parametrize("cap", ["max_orders_per_period", "max_pair_orders_per_period"])
def test_velocity_cap_refuses_the_order_over_it_and_posts_nothing(
        db_url: str, open_platform: Callable[..., Platform], make_city: Callable[[Platform], City],
        cap: str) -> None:
    plat = open_platform(db_url, risk_policy(**{cap: 2}))
    city = make_city(plat)
    city.order(10_000)
    city.order(10_000, merchant=city.home)  # another merchant: counts only for the per-consumer cap
    if cap == "max_pair_orders_per_period":
        city.order(10_000)
    before, orders = snapshot(plat), count_rows(plat, t.orders)
    with pytest.raises(VelocityCapExceeded, match=cap.replace("_per_period", "")):
        city.order(10_000)
    assert snapshot(plat) == before
    assert count_rows(plat, t.orders) == orders
    city.order(10_000, consumer=city.referrer)  # another consumer is not held back
    plat.close_period()
    city.order(10_000)  # a new period, a new count
    assert_verified(plat)


def test_voucher_orders_count_against_the_cap_and_one_over_it_spends_nothing(
        db_url: str, open_platform: Callable[..., Platform],
        make_city: Callable[[Platform], City]) -> None:
    """A voucher order is written with its take in one statement on PostgreSQL and counted
    after it: over the cap it is refused, its vouchers stay the consumer's and nothing posts."""
    plat = open_platform(db_url, risk_policy(max_orders_per_period=3))
    city = make_city(plat)
    city.order(100_000)
    for _ in range(3):  # vouchers released and settled
        plat.close_period()
    held = plat.wallet(city.consumer).vouchers_fen
    assert held >= 3_000
    city.order(10_000, 1_000)
    city.order(10_000)
    city.order(10_000, 1_000)  # the third of the period: the cap's last place
    before, orders = snapshot(plat), count_rows(plat, t.orders)
    with pytest.raises(VelocityCapExceeded, match="max_orders"):
        city.order(10_000, 1_000)
    assert snapshot(plat) == before
    assert count_rows(plat, t.orders) == orders
    assert plat.wallet(city.consumer).vouchers_fen == held - 2_000
    assert_verified(plat)


def test_velocity_refusal_answers_problem_json() -> None:
    assert VelocityCapExceeded.status == 409
    assert VelocityCapExceeded.title == "Velocity cap exceeded"


def test_confirming_with_refunds_keeps_the_books_exact(city: City) -> None:
    plat = city.platform
    plat.run(rings.register_identifiers, city.merchant, ["card:own"], [])
    ring = [plat.consumer(f"Ring {i}") for i in range(2)]
    ids = [paid(city, c, "card:own", amount=20_000 + i) for i, c in enumerate(ring)]
    honest = city.order(30_000)
    plat.close_period()  # points start releasing; refunds take vouchers back
    city.platform.refund(ids[0], 5_000, "partial-before")  # part refunded already
    (case,) = [k for k in case_rows(plat) if k.detector == "wash_trading"]
    moved = plat.run(cases.transition, case.id, "investigating", "admin-a", note="looking")
    assert moved.status == "investigating" and moved.decided_by is None
    done = plat.run(cases.transition, case.id, "confirmed", "admin-b", refund_orders=True)
    assert done.status == "confirmed" and done.decided_by == "admin-b"
    assert done.decision is not None and len(done.decision["refund_ids"]) == len(ids)
    with plat.engine.connect() as conn:
        rows = {int(i): int(left) for i, left in conn.execute(
            select(t.orders.c.id, t.orders.c.amount_fen - t.orders.c.refunded_fen))}
    assert all(rows[i] == 0 for i in ids)
    assert rows[honest.order_id] == 30_000
    assert_verified(plat)
    before = snapshot(plat)
    repeat = plat.run(cases.transition, case.id, "confirmed", "admin-b", refund_orders=True)
    assert repeat.decided_by == "admin-b" and snapshot(plat) == before  # nothing twice
    with pytest.raises(CaseTransitionRefused):
        plat.run(cases.transition, case.id, "dismissed", "admin-c")
    assert plat.read(lambda c: cases.get_case(stores_on(c), case.id)).status == "confirmed"
    with plat.engine.connect() as conn:
        kinds = list(conn.execute(select(t.events.c.type).where(
            t.events.c.type.like("case.%")).order_by(t.events.c.id)).scalars())
    assert kinds.count("case.opened") == 1 and kinds.count("case.status_changed") == 2


def test_a_dismissed_case_is_not_reopened_by_the_same_flag(city: City) -> None:
    plat = city.platform
    plat.run(rings.register_identifiers, city.merchant, ["card:own"], [])
    fake = plat.consumer("Fake")
    paid(city, fake, "card:own")
    plat.close_period()
    (case,) = case_rows(plat)
    plat.run(cases.transition, case.id, "dismissed", "admin", note="a relative, known")
    paid(city, fake, "card:own")
    plat.close_period()
    assert [k.status for k in case_rows(plat)] == ["dismissed"]
    other = plat.consumer("Second fake")
    paid(city, other, "card:own")  # a new party on the same merchant: a new case
    plat.close_period()
    assert sorted(k.status for k in case_rows(plat)) == ["dismissed", "open"]


def test_manual_case_notes_and_refusals(city: City) -> None:
    plat = city.platform
    order = city.order(10_000)
    case = plat.run(cases.create_case, "odd pattern", [city.consumer], [order.order_id], "ops")
    assert case.detector == "manual" and case.opened_by == "ops"
    noted = plat.run(cases.add_note, case.id, "called the merchant", "ops")
    assert [n["body"] for n in noted.notes] == ["called the merchant"]
    with pytest.raises(InvalidInput):
        plat.run(cases.transition, case.id, "investigating", "ops", refund_orders=True)
    with pytest.raises(InvalidInput):  # only parties of the case may be frozen
        plat.run(cases.transition, case.id, "confirmed", "ops", freeze_party_ids=[city.merchant])
    assert plat.read(lambda c: cases.get_case(stores_on(c), case.id)).status == "open"


def test_confirming_may_freeze_parties_of_the_case(city: City) -> None:
    pytest.importorskip("gongsheng.services.freezes")
    plat = city.platform
    plat.run(rings.register_identifiers, city.merchant, ["card:own"], [])
    fake = plat.consumer("Fake")
    paid(city, fake, "card:own")
    plat.close_period()
    (case,) = case_rows(plat)
    done = plat.run(cases.transition, case.id, "confirmed", "admin",
                    freeze_party_ids=[city.merchant, fake])
    assert done.decision is not None
    assert done.decision["frozen_party_ids"] == sorted([city.merchant, fake])
    assert_verified(plat)


STATUSES = ["open", "investigating", "confirmed", "dismissed"]
MOVES = {("open", "investigating"), ("open", "confirmed"), ("open", "dismissed"),
         ("investigating", "confirmed"), ("investigating", "dismissed")}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6))
def test_case_moves_in_the_books_follow_the_state_machine(city: City, moves: list[str]) -> None:
    plat = city.platform
    case = plat.run(cases.create_case, "generated", [city.consumer], [], "ops")
    status, changed = "open", 0
    for target in moves:
        if target != status and (status, target) not in MOVES:
            with pytest.raises(CaseTransitionRefused):
                plat.run(cases.transition, case.id, target, "ops")
            continue
        after = plat.run(cases.transition, case.id, target, "ops")
        changed += target != status
        status = target
        assert after.status == status
        assert (after.decided_by is not None) == (status in ("confirmed", "dismissed"))
    with plat.engine.connect() as conn:
        recorded = conn.execute(select(func.count()).select_from(t.events).where(
            t.events.c.type == "case.status_changed",
            t.events.c.body.like(f'%"case_id":{case.id},%'))).scalar_one()
    assert recorded == changed


def test_concurrent_orders_of_one_consumer_never_pass_the_cap(
        pg_url: str, open_platform: Callable[..., Platform],
        make_city: Callable[[Platform], City]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    plat = open_platform(pg_url, risk_policy(max_orders_per_period=3))
    city = make_city(plat)
    reqs = [city.request(10_000) for _ in range(8)]

    def place(req: OrderRequest) -> bool:
        try:
            plat.order(req)
        except VelocityCapExceeded:
            return False
        return True

    with ThreadPoolExecutor(4) as pool:
        placed = list(pool.map(place, reqs))
    assert placed.count(True) == 3
    assert count_rows(plat, t.orders) == 3
    assert_verified(plat)


@pytest.mark.parametrize("version_read", [True, False], ids=["version-read", "version-unread"])
@pytest.mark.parametrize("cap", ["max_orders_per_period", "max_pair_orders_per_period"])
def test_orders_racing_for_the_last_places_under_a_cap_place_exactly_the_cap(
        pg_url: str, open_platform: Callable[..., Platform],
        make_city: Callable[[Platform], City], cap: str, version_read: bool) -> None:
    """PostgreSQL: an order takes its consumer's velocity lock in its first statement when its
    process has read the open period's policy version, in a statement of its own when it has
    not (each order here on an engine of its own); either way, orders of one consumer started
    at once place exactly the cap, every other is refused and posts nothing."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from gongsheng.adapters.database import make_engine
    from gongsheng.adapters.policy_store import read_policies

    plat = open_platform(pg_url, risk_policy(**{cap: 3}))
    city = make_city(plat)
    city.order(10_000, consumer=city.referrer)  # another consumer's order: the version is read
    assert plat.read(lambda c: any(p.risk.caps_velocity for p in read_policies(c).values()))
    reqs = [city.request(10_000) for _ in range(8)]
    platforms = [plat if version_read else Platform(make_engine(pg_url)) for _ in reqs]
    start = threading.Barrier(len(reqs))

    def place(i: int) -> bool:
        start.wait()
        try:
            platforms[i].order(reqs[i])
        except VelocityCapExceeded:
            return False
        return True

    try:
        with ThreadPoolExecutor(len(reqs)) as pool:
            placed = list(pool.map(place, range(len(reqs))))
    finally:
        for other in platforms:
            if other is not plat:
                other.engine.dispose()
    assert placed.count(True) == 3
    assert count_rows(plat, t.orders) == 4
    assert_verified(plat)


def test_the_batch_path_counts_each_order_against_the_cap(
        db_url: str, open_platform: Callable[..., Platform],
        make_city: Callable[[Platform], City]) -> None:
    """A batch of orders (an import, a burst) is capped as the same orders one by one: those
    over the cap are refused with the cap's error and post nothing; the others go in."""
    from gongsheng.services.batch import place_orders
    from gongsheng.services.ordering import OrderRequest, OrderResult

    plat = open_platform(db_url, risk_policy(max_orders_per_period=3))
    city = make_city(plat)
    city.order(10_000)
    batch = [OrderRequest(city.consumer, city.merchant, 10_000, 0, city.key("b"))
             for _ in range(4)]
    batch.insert(1, OrderRequest(city.referrer, city.merchant, 10_000, 0, city.key("b")))
    outcomes = plat.run(place_orders, batch)
    placed = [isinstance(o, OrderResult) for o in outcomes]
    assert placed == [True, True, True, False, False]
    assert all(isinstance(o, VelocityCapExceeded) for o in outcomes[3:])
    assert count_rows(plat, t.orders) == 4
    assert_verified(plat)
