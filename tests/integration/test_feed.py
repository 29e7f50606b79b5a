"""The event feed: commit order, a cursor that never skips or repeats, under concurrent writers.

The same cases run on SQLite and PostgreSQL. On PostgreSQL the last tests make transactions
commit in another order than the one their ids were drawn in, and run many writers while a
reader polls: what the reader collected must equal the events table, in the same order.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import literal, select, tuple_

from gongsheng.adapters import tables as t
from gongsheng.adapters.event_store import add_events, stored_events
from gongsheng.domain.errors import InvalidInput, RetryTransaction
from gongsheng.domain.events import PartyRegistered, Recorded
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork
from gongsheng.views.feed import read_feed

if TYPE_CHECKING:
    from conftest import City


def poll_all(plat: Platform, after: str | None = None, *, settle: float = 30.0,
             **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    """Every event after ``after`` that the table holds, page by page; the items and the last
    cursor. On PostgreSQL an event is served once every older transaction of the server has
    ended (other databases' too), so an empty page may only mean "not yet": poll until the
    feed has caught up with the table, for at most ``settle`` seconds."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + settle
    while True:
        page = plat.read(lambda c, a=after: read_feed(c, a, limit=7, **kwargs))
        got += page.items
        after = page.next_cursor
        if not page.items:
            if not _behind(plat, kwargs.get("types"), after) or time.monotonic() > deadline:
                return got, page.next_cursor
            time.sleep(0.02)


def _behind(plat: Platform, types: Any, cursor: str) -> int:
    """How many committed events (of ``types`` when given) the table holds after ``cursor``."""
    txid, row = (int(x) for x in cursor.split("-"))
    query = select(t.events.c.event_id).where(
        tuple_(t.events.c.txid, t.events.c.id) > tuple_(literal(txid), literal(row)))
    if types is not None:
        query = query.where(t.events.c.type.in_(types))
    return len(plat.read(lambda c: c.execute(query).all()))


def table_order(plat: Platform) -> list[str]:
    """Event ids in the events table's (txid, id) order: what a reader must see."""
    rows = plat.read(lambda c: c.execute(select(t.events.c.event_id)
                                         .order_by(t.events.c.txid, t.events.c.id)).all())
    return [r[0] for r in rows]


def test_the_feed_pages_through_every_event_once_in_order(city: City) -> None:
    plat = city.platform
    for i in range(5):
        plat.refund(city.order(10_000 + i).order_id, 100, f"r-{i}")
    got, cursor = poll_all(plat)
    assert [e["id"] for e in got] == table_order(plat)
    assert len(got) == 7 + 10  # seven parties, five orders, five refunds
    assert [e["type"] for e in got[-2:]] == ["order.placed", "order.refunded"]
    assert got[-2]["data"]["amount_fen"] == 10_004
    assert poll_all(plat, cursor)[0] == []  # resuming at the end: nothing new
    city.order(5_000)
    [new], _ = poll_all(plat, cursor)
    assert new["type"] == "order.placed" and new["data"]["amount_fen"] == 5_000
    assert new["timestamp"].endswith("Z") and new["version"] == 1


def test_a_type_filter_skips_the_others_and_the_cursor_moves_past_them(city: City) -> None:
    plat = city.platform
    order = city.order(20_000)
    plat.refund(order.order_id, 1_000, "r")
    got, cursor = poll_all(plat, types=["order.refunded"])
    assert [e["type"] for e in got] == ["order.refunded"]
    page = plat.read(lambda c: read_feed(c, None, ["order.refunded"], 100))
    assert page.next_cursor == cursor == got[0]["cursor"]
    assert plat.read(lambda c: read_feed(c, cursor, ["order.refunded"], 100)).next_cursor == cursor


@pytest.mark.parametrize("bad", ["x", "1", "-1-2", "1-2-3", "1.5-2"])
def test_a_malformed_cursor_or_unknown_type_is_refused(platform: Platform, bad: str) -> None:
    with pytest.raises(InvalidInput):
        platform.read(lambda c: read_feed(c, bad))
    with pytest.raises(InvalidInput):
        platform.read(lambda c: read_feed(c, None, ["order.exploded"]))
    with pytest.raises(InvalidInput):
        platform.read(lambda c: read_feed(c, None, None, 0))


@pytest.mark.postgres
def test_an_event_committed_after_a_later_drawn_one_is_not_skipped(
        pg_url: str, open_platform: Any, make_city: Any) -> None:
    """Transaction A draws its event id first but commits last: a reader that already saw B's
    event must still get A's (an ``id > last`` cursor would skip it)."""
    city = make_city(open_platform(pg_url))
    plat = city.platform
    _, cursor = poll_all(plat)
    with UnitOfWork(plat.engine) as slow:
        add_events(slow.conn, [Recorded(PartyRegistered(
            period=1, party_id=999, kind="consumer", name="slow"))])  # A's row and id drawn now
        second = city.order(2_222)  # B: its event's id drawn later, committed first
        naive = plat.read(stored_events, 0, 100_000)
        assert naive[-1]["type"] == "order.placed"  # an id cursor would move past A's id here
        seen_while_open, cursor2 = poll_all(plat, cursor, settle=1.0)
        assert seen_while_open == []  # B is held back while A, older, still runs
        slow.commit()
    got, _ = poll_all(plat, cursor2)
    assert [e["type"] for e in got] == ["party.registered", "order.placed"]
    assert got[1]["data"]["order_id"] == second.order_id
    rows = dict(plat.read(lambda c: c.execute(select(t.events.c.event_id, t.events.c.id).where(
        t.events.c.event_id.in_([e["id"] for e in got]))).all()))
    assert rows[got[0]["id"]] < rows[got[1]["id"]]  # A's id was drawn first, committed last


@pytest.mark.postgres
def test_a_reader_polling_under_concurrent_writers_sees_the_table_exactly(
        pg_url: str, open_platform: Any, make_city: Any) -> None:
    city = make_city(open_platform(pg_url))
    plat = city.platform
    _, start = poll_all(plat)
    threads, per_thread = 6, 12
    barrier = threading.Barrier(threads + 1)
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[dict[str, Any]] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            for j in range(per_thread):
                try:
                    order = plat.order(OrderRequest(city.consumer, city.merchant, 1_000 + j, 0,
                                                    f"t{i}-{j}"))
                    if j % 3 == 0:
                        plat.refund(order.order_id, 300, f"r{i}-{j}")
                except RetryTransaction:
                    pass
        except BaseException as err:
            errors.append(err)

    def read() -> None:
        cursor = start
        barrier.wait()
        while True:
            finished = done.is_set()
            page = plat.read(lambda c, a=cursor: read_feed(c, a, limit=5))
            seen.extend(page.items)
            cursor = page.next_cursor
            if finished and not page.items and not _behind(plat, None, cursor):
                return
            time.sleep(0.001)

    writers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    reader = threading.Thread(target=read)
    for w in [*writers, reader]:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join()
    assert not errors, errors
    expected = table_order(plat)[-len(seen):] if seen else []
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids))  # no repeat
    assert ids == expected  # no gap, commit order
    assert len(ids) >= threads * per_thread  # most orders went through
    everything, _ = poll_all(plat)
    assert [e["id"] for e in everything][-len(ids):] == ids
