"""Where freezes of parties are kept: one row per freeze, open until the party is unfrozen.

At most one open freeze per party (a partial unique index), so "is it frozen" is one indexed
look-up, and the rows that ended stay as the party's history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page

_f = t.party_freezes.c


@dataclass(frozen=True)
class FreezeRecord:
    """One freeze: who froze the party, why and when; who ended it and when (None while open)."""

    id: int
    party_id: int
    reason: str
    frozen_by: str
    frozen_at: dt.datetime
    unfrozen_by: str | None
    unfrozen_at: dt.datetime | None


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
