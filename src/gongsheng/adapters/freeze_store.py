"""Where freezes of parties are kept: one row per freeze, open until the party is unfrozen.

At most one open freeze per party (a partial unique index), so "is it frozen" is one indexed
look-up, and the rows that ended stay as the party's history.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page
from gongsheng.domain.freezes import FreezeRecord

_f = t.party_freezes.c


_IS_FROZEN = select(exists().where(_f.party_id == bindparam("party"), _f.unfrozen_at.is_(None)))


def is_frozen(conn: Connection, party_id: int) -> bool:
    """Whether the party has an open freeze."""
    return bool(conn.execute(_IS_FROZEN, {"party": party_id}).scalar())


def _record(row: object) -> FreezeRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return FreezeRecord(int(m["id"]), int(m["party_id"]), str(m["reason"]), str(m["frozen_by"]),
                        m["frozen_at"], m["unfrozen_by"], m["unfrozen_at"])


def open_freeze(conn: Connection, party_id: int) -> FreezeRecord | None:
    """The party's open freeze, if any."""
    row = conn.execute(select(t.party_freezes).where(
        _f.party_id == party_id, _f.unfrozen_at.is_(None))).first()
    return None if row is None else _record(row)


def add_freeze(conn: Connection, party_id: int, reason: str, actor: str) -> None:
    conn.execute(insert(t.party_freezes), {"party_id": party_id, "reason": reason,
                                           "frozen_by": actor})


def end_freeze(conn: Connection, freeze_id: int, actor: str) -> None:
    conn.execute(update(t.party_freezes).where(_f.id == freeze_id, _f.unfrozen_at.is_(None))
                 .values(unfrozen_by=actor, unfrozen_at=func.now()))


def freezes_of(conn: Connection, party_id: int, limit: int = 50) -> list[FreezeRecord]:
    """The party's freezes, newest first."""
    rows = conn.execute(select(t.party_freezes).where(_f.party_id == party_id)
                        .order_by(_f.id.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def open_freezes(conn: Connection, limit: int = 100,
                 before: int | None = None) -> KeyedPage[FreezeRecord]:
    """Every open freeze, newest first, one page by key (the admin's list of frozen parties).

    Only open freezes are read, through ``uq_party_freezes_open`` (which holds only them), so a
    page costs what the open freezes number, never the history of freezes."""
    query = select(t.party_freezes).where(_f.unfrozen_at.is_(None))
    return keyed_page(conn, query, _f.id, limit, before=before).map(_record)


def frozen_among(conn: Connection, party_ids: list[int]) -> set[int]:
    """Which of ``party_ids`` are frozen now (one indexed query; for a page of a list)."""
    if not party_ids:
        return set()
    return {int(p) for p in conn.execute(select(_f.party_id).where(
        _f.party_id.in_(party_ids), _f.unfrozen_at.is_(None))).scalars()}


class SqlFreezeStore:
    """:class:`~gongsheng.services.ports.freezes.FreezeStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def is_frozen(self, party_id: int) -> bool:
        return is_frozen(self.conn, party_id)

    def open_freeze(self, party_id: int) -> FreezeRecord | None:
        return open_freeze(self.conn, party_id)

    def add(self, party_id: int, reason: str, actor: str) -> None:
        add_freeze(self.conn, party_id, reason, actor)

    def end(self, freeze_id: int, actor: str) -> None:
        end_freeze(self.conn, freeze_id, actor)

    def history(self, party_id: int, limit: int = 50) -> list[FreezeRecord]:
        return freezes_of(self.conn, party_id, limit)

    def frozen_among(self, party_ids: list[int]) -> set[int]:
        return frozen_among(self.conn, party_ids)
