"""One snapshot for a read of many statements, and for reads on other connections sharing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.snapshots import SnapshotReaders
from gongsheng.services.platform import Platform

if TYPE_CHECKING:
    from conftest import City


def _orders(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.orders)).scalar_one())


def test_a_snapshot_read_never_sees_a_commit_made_after_its_first_statement(city: City) -> None:
    plat = city.platform
    city.order(10_000)

    def read(conn: Connection) -> tuple[int, int]:
        first = _orders(conn)
        city.order(10_000)  # commits on another connection meanwhile
        return first, _orders(conn)

    first, second = plat.read(read, snapshot=True)
    assert second == first
    assert plat.read(_orders) == first + 1


def test_readers_on_other_connections_read_the_opening_transactions_snapshot(city: City) -> None:
    plat = city.platform
    city.order(10_000)

    def read(conn: Connection) -> tuple[int, list[int]]:
        first = _orders(conn)
        with SnapshotReaders(conn, 2) as readers:
            city.order(10_000)
            seen = [readers.submit(_orders) for _ in range(4)]
            city.order(10_000)
            return first, [s.result() for s in seen]

    first, seen = plat.read(read, snapshot=True)
    assert seen == [first] * 4
    assert plat.read(_orders) == first + 2


def test_a_failing_read_hands_its_error_to_the_caller(city: City) -> None:
    def boom(_: Connection) -> int:
        raise ValueError("no")

    def read(conn: Connection) -> str:
        with SnapshotReaders(conn, 2) as readers:
            try:
                readers.submit(boom).result()
            except ValueError as err:
                return str(err)
        return "no error"

    assert city.platform.read(read, snapshot=True) == "no"


@pytest.mark.postgres
def test_a_reader_done_early_outlives_the_servers_idle_in_transaction_timeout(
        pg_url: str, open_platform: Callable[..., Platform]) -> None:
    """The operations guide suggests ``idle_in_transaction_session_timeout``: a worker whose
    read is done waits, idle in its transaction, while another reads for longer; it must not be
    ended for it (nor the opening transaction, idle meanwhile)."""
    plat = open_platform(pg_url)
    with plat.engine.connect() as conn:
        name = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        conn.exec_driver_sql(f"ALTER DATABASE {name} SET idle_in_transaction_session_timeout = '1s'")
        conn.commit()
    plat.engine.dispose()  # new sessions take the setting

    def slow(conn: Connection) -> int:
        conn.exec_driver_sql("SELECT pg_sleep(2.5)")  # busy in the server, not idle
        return _orders(conn)

    def read(conn: Connection) -> list[int]:
        with SnapshotReaders(conn, 2) as readers:
            long = readers.submit(slow)
            quick = readers.submit(_orders)  # on the other worker, which then waits, idle
            return [quick.result(), long.result()]

    assert plat.read(read, snapshot=True) == [0, 0]
    assert plat.read(_orders) == 0  # the pool's connections are still good
