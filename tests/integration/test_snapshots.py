"""One snapshot for a read of many statements, and for reads on other connections sharing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.snapshots import SnapshotReaders

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
