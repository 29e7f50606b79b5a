"""Parties as stored: the rows every role (platform, consumer, merchant, BM, partner, promoter)
hangs off. SQLite / PostgreSQL differences of writing them are kept here."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.freeze_store import is_frozen


def add_party_with_id(conn: Connection, party_id: int, kind: str, name: str) -> None:
    """Insert a party under an explicit id (the platform's, party 1).

    On PostgreSQL an explicit id does not advance the id sequence: it is moved past the highest
    id, so the next party inserted without one never collides with it.
    """
    conn.execute(insert(t.parties), {"id": party_id, "kind": kind, "name": name})
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))")


def region_universes(conn: Connection) -> list[tuple[int, str, int]]:
    """Every region ``(id, name, merchant universe)``."""
    rows = conn.execute(select(t.regions.c.id, t.regions.c.name, t.regions.c.merchant_universe)).all()
    return [(int(rid), str(name), int(universe)) for rid, name, universe in rows]


class SqlPartyStore:
    """:class:`~gongsheng.services.ports.parties.PartyStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def kind(self, party_id: int) -> str | None:
        kind = self.conn.execute(select(t.parties.c.kind)
                                 .where(t.parties.c.id == party_id)).scalar_one_or_none()
        return None if kind is None else str(kind)

    def is_frozen(self, party_id: int) -> bool:
        return is_frozen(self.conn, party_id)

    def region_universes(self) -> list[tuple[int, str, int]]:
        return region_universes(self.conn)

    def add_with_id(self, party_id: int, kind: str, name: str) -> None:
        add_party_with_id(self.conn, party_id, kind, name)


__all__ = ["SqlPartyStore", "add_party_with_id", "region_universes"]
