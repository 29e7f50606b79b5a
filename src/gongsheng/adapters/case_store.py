"""Risk flags and abuse cases in SQL: the rows of ``risk_flags``, ``cases`` and their parts.

A flag is stored once per ``flag_key`` (a detector seeing the same thing again adds nothing). An
undecided case carries an ``open_key`` (unique), the subject detectors join their flags to
(``wash_trading:merchant:7``); deciding a case clears it, so the next flag on that subject opens
a new case. Parties and orders of a case are sets (a repeat adds nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import dialect_insert
from gongsheng.adapters.paging import KeyedPage, keyed_page


def add_flag(conn: Connection, values: dict[str, Any]) -> bool:
    """Store a flag; whether it is new (False: its ``flag_key`` was stored already)."""
    f = t.risk_flags
    row = conn.execute(dialect_insert(conn, f).values(**values)
                       .on_conflict_do_nothing().returning(f.c.id)).first()
    return row is not None


def file_flag(conn: Connection, flag_key: str, case_id: int) -> None:
    """Record which case a flag was filed in."""
    conn.execute(update(t.risk_flags).where(t.risk_flags.c.flag_key == flag_key)
                 .values(case_id=case_id))


def undecided_case(conn: Connection, open_key: str) -> int | None:
    found = conn.execute(select(t.cases.c.id).where(t.cases.c.open_key == open_key)).scalar()
    return None if found is None else int(found)


def insert_case(conn: Connection, values: dict[str, Any]) -> int | None:
    """A new case's id, or None when a concurrent writer opened one under the same open_key."""
    c = t.cases
    row = conn.execute(dialect_insert(conn, c).values(**values)
                       .on_conflict_do_nothing().returning(c.c.id)).first()
    return None if row is None else int(row[0])


def add_parties(conn: Connection, case_id: int, parties: Iterable[tuple[int, str]]) -> list[int]:
    """Add ``(party, role)`` pairs to a case; the parties that are new to it."""
    rows = [{"case_id": case_id, "party_id": p, "role": r} for p, r in dict(parties).items()]
    if not rows:
        return []
    cp = t.case_parties
    return [int(p) for p in conn.execute(dialect_insert(conn, cp).values(rows).on_conflict_do_nothing()
                                         .returning(cp.c.party_id)).scalars()]


def add_orders(conn: Connection, case_id: int, order_ids: Iterable[int]) -> list[int]:
    """Add orders to a case; the ones that are new to it."""
    rows = [{"case_id": case_id, "order_id": o} for o in sorted(set(order_ids))]
    if not rows:
        return []
    co = t.case_orders
    return [int(o) for o in conn.execute(dialect_insert(conn, co).values(rows).on_conflict_do_nothing()
                                         .returning(co.c.order_id)).scalars()]


def case_row(conn: Connection, case_id: int, *, for_update: bool = False) -> Any:
    query = select(t.cases).where(t.cases.c.id == case_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def set_status(conn: Connection, case_id: int, status: str, *, actor: str | None,
               decision: str | None, decided: bool) -> None:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if decided:
        values.update(open_key=None, decided_by=actor, decided_at=now, decision=decision)
    conn.execute(update(t.cases).where(t.cases.c.id == case_id).values(**values))


def add_note(conn: Connection, case_id: int, actor: str, body: str) -> int:
    conn.execute(update(t.cases).where(t.cases.c.id == case_id)
                 .values(updated_at=dt.datetime.now(dt.UTC)))
    return int(conn.execute(insert(t.case_notes).returning(t.case_notes.c.id),
                            {"case_id": case_id, "actor": actor, "body": body}).scalar_one())


def parties_of(conn: Connection, case_id: int) -> list[tuple[int, str]]:
    cp = t.case_parties
    return [(int(p), str(r)) for p, r in conn.execute(
        select(cp.c.party_id, cp.c.role).where(cp.c.case_id == case_id).order_by(cp.c.party_id))]


def orders_of(conn: Connection, case_id: int) -> list[int]:
    co = t.case_orders
    return [int(o) for o in conn.execute(
        select(co.c.order_id).where(co.c.case_id == case_id).order_by(co.c.order_id)).scalars()]


def notes_of(conn: Connection, case_id: int) -> list[Any]:
    n = t.case_notes
    return list(conn.execute(select(n.c.id, n.c.actor, n.c.body, n.c.created_at)
                             .where(n.c.case_id == case_id).order_by(n.c.id)))


def flags_of(conn: Connection, case_id: int, limit: int) -> list[Any]:
    f = t.risk_flags
    return list(conn.execute(select(f).where(f.c.case_id == case_id).order_by(f.c.id).limit(limit)))


def list_cases(conn: Connection, status: str | None, limit: int, before: int | None = None,
               after: int | None = None, newer: bool = False) -> KeyedPage[Any]:
    """Cases newest first, one page by key (``ix_cases_status_key`` when a status is given)."""
    c = t.cases
    query = select(c) if status is None else select(c).where(c.c.status == status)
    return keyed_page(conn, query, c.c.id, limit, before=before, after=after, newer=newer)


def flags_since(conn: Connection, period: int, limit: int) -> list[Any]:
    """Stored flags of ``period`` and later, newest first (through ``ix_risk_flags_period``)."""
    f = t.risk_flags
    return list(conn.execute(select(f).where(f.c.period >= period)
                             .order_by(f.c.id.desc()).limit(limit)))
