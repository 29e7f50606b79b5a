"""Parties as stored: the rows every role (platform, consumer, merchant, BM, partner, promoter)
hangs off. SQLite / PostgreSQL differences of writing them are kept here."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from gongsheng.adapters import tables as t


def add_party_with_id(conn: Connection, party_id: int, kind: str, name: str) -> None:
    """Insert a party under an explicit id (the platform's, party 1).

    On PostgreSQL an explicit id does not advance the id sequence: it is moved past the highest
    id, so the next party inserted without one never collides with it.
    """
    conn.execute(insert(t.parties), {"id": party_id, "kind": kind, "name": name})
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))")


__all__ = ["add_party_with_id"]
