"""Risk flags and abuse cases in SQL: the rows of ``risk_flags``, ``cases`` and their parts.

A flag is stored once per ``flag_key`` (a detector seeing the same thing again adds nothing). An
undecided case carries an ``open_key`` (unique), the subject detectors join their flags to
(``wash_trading:merchant:7``); deciding a case clears it, so the next flag on that subject opens
a new case. Parties and orders of a case are sets (a repeat adds nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, case, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import dialect_insert
from gongsheng.adapters.paging import KeyedPage, keyed_page

ROWS_PER_STATEMENT = 500
"""Rows (or keys) one statement of the set forms below carries at most: SQLite binds at most
32,766 values in a statement, and a close may raise thousands of flags."""


def _slices(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), ROWS_PER_STATEMENT):
        yield items[start:start + ROWS_PER_STATEMENT]


def _insert_new(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                *returning: Any) -> list[Any]:
    """Insert ``rows``, those whose key is stored already left out (``ON CONFLICT DO NOTHING``:
    of a key given twice the first is stored); the ``returning`` columns of the inserted ones."""
    return [row for part in _slices(rows) for row in conn.execute(
        dialect_insert(conn, table).values(list(part)).on_conflict_do_nothing()
        .returning(*returning))]


def add_flags(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Store flags; the ``flag_key`` of each that is new (the others were stored already)."""
    return {str(k) for k, in _insert_new(conn, t.risk_flags, rows, t.risk_flags.c.flag_key)}


def file_flags(conn: Connection, cases: Mapping[str, int]) -> None:
    """Record in which case each flag (by ``flag_key``) was filed."""
    f = t.risk_flags
    for keys in _slices(sorted(cases)):
        conn.execute(update(f).where(f.c.flag_key.in_(keys))
                     .values(case_id=case({k: cases[k] for k in keys}, value=f.c.flag_key)))


def undecided_cases(conn: Connection, open_keys: Iterable[str]) -> dict[str, int]:
    """The undecided case under each of ``open_keys`` that has one."""
    c = t.cases
    return {str(k): int(i) for keys in _slices(sorted(set(open_keys))) for k, i in conn.execute(
        select(c.c.open_key, c.c.id).where(c.c.open_key.in_(keys)))}


def undecided_case(conn: Connection, open_key: str) -> int | None:
    return undecided_cases(conn, [open_key]).get(open_key)


def insert_case(conn: Connection, values: dict[str, Any]) -> int | None:
    """A new case's id, or None when a concurrent writer opened one under the same open_key."""
    c = t.cases
    row = conn.execute(dialect_insert(conn, c).values(**values)
                       .on_conflict_do_nothing().returning(c.c.id)).first()
    return None if row is None else int(row[0])


def insert_cases(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """New cases, each under its ``open_key``; the id of each by its open_key (one a concurrent
    writer opened first is left out)."""
    c = t.cases
    return {str(k): int(i) for k, i in _insert_new(conn, c, rows, c.c.open_key, c.c.id)}


def add_case_parties(conn: Connection, rows: Iterable[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Add ``(case, party, role)`` rows (a party already in its case, or given twice for it,
    keeps its first role); the ``(case, party)`` pairs that are new."""
    first: dict[tuple[int, int], str] = {}
    for case_id, party, role in rows:
        first.setdefault((case_id, party), role)
    cp = t.case_parties
    return [(int(c), int(p)) for c, p in _insert_new(
        conn, cp, [{"case_id": c, "party_id": p, "role": r} for (c, p), r in sorted(first.items())],
        cp.c.case_id, cp.c.party_id)]


def add_case_orders(conn: Connection, rows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add ``(case, order)`` rows; the pairs that are new."""
    co = t.case_orders
    return [(int(c), int(o)) for c, o in _insert_new(
        conn, co, [{"case_id": c, "order_id": o} for c, o in sorted(set(rows))],
        co.c.case_id, co.c.order_id)]


def add_parties(conn: Connection, case_id: int, parties: Iterable[tuple[int, str]]) -> list[int]:
    """Add ``(party, role)`` pairs to a case; the parties that are new to it."""
    return [p for _, p in add_case_parties(conn, [(case_id, p, r) for p, r in dict(parties).items()])]


def add_orders(conn: Connection, case_id: int, order_ids: Iterable[int]) -> list[int]:
    """Add orders to a case; the ones that are new to it."""
    return [o for _, o in add_case_orders(conn, [(case_id, o) for o in order_ids])]


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


class SqlCaseStore:
    """:class:`~gongsheng.services.ports.cases.CaseStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_flags(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        return add_flags(self.conn, rows)

    def file_flags(self, cases: Mapping[str, int]) -> None:
        file_flags(self.conn, cases)

    def undecided_cases(self, open_keys: Iterable[str]) -> dict[str, int]:
        return undecided_cases(self.conn, open_keys)

    def undecided_case(self, open_key: str) -> int | None:
        return undecided_case(self.conn, open_key)

    def insert_case(self, values: dict[str, Any]) -> int | None:
        return insert_case(self.conn, values)

    def insert_cases(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        return insert_cases(self.conn, rows)

    def add_case_parties(self, rows: Iterable[tuple[int, int, str]]) -> list[tuple[int, int]]:
        return add_case_parties(self.conn, rows)

    def add_case_orders(self, rows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        return add_case_orders(self.conn, rows)

    def add_parties(self, case_id: int, parties: Iterable[tuple[int, str]]) -> list[int]:
        return add_parties(self.conn, case_id, parties)

    def add_orders(self, case_id: int, order_ids: Iterable[int]) -> list[int]:
        return add_orders(self.conn, case_id, order_ids)

    def case_row(self, case_id: int, *, for_update: bool = False) -> Any:
        return case_row(self.conn, case_id, for_update=for_update)

    def set_status(self, case_id: int, status: str, *, actor: str | None,
                   decision: str | None, decided: bool) -> None:
        set_status(self.conn, case_id, status, actor=actor, decision=decision, decided=decided)

    def add_note(self, case_id: int, actor: str, body: str) -> int:
        return add_note(self.conn, case_id, actor, body)

    def parties_of(self, case_id: int) -> list[tuple[int, str]]:
        return parties_of(self.conn, case_id)

    def orders_of(self, case_id: int) -> list[int]:
        return orders_of(self.conn, case_id)

    def notes_of(self, case_id: int) -> list[Any]:
        return notes_of(self.conn, case_id)

    def flags_of(self, case_id: int, limit: int) -> list[Any]:
        return flags_of(self.conn, case_id, limit)

    def list_cases(self, status: str | None, limit: int, before: int | None = None,
                   after: int | None = None, newer: bool = False) -> KeyedPage[Any]:
        return list_cases(self.conn, status, limit, before, after, newer)

    def flags_since(self, period: int, limit: int) -> list[Any]:
        return flags_since(self.conn, period, limit)

    def known(self, what: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are ids of a ``party`` or an ``order`` (``what``)."""
        table = t.parties if what == "party" else t.orders
        return {int(i) for i in self.conn.execute(
            select(table.c.id).where(table.c.id.in_(sorted(set(ids))))).scalars()}

    def refundable_orders(self, order_ids: Sequence[int]) -> list[tuple[int, int, int, int, int | None, int]]:
        """``(order, amount left to refund, consumer, merchant, referrer, voucher + pool fen)`` of
        those of ``order_ids`` not refunded in full, by id."""
        o = t.orders
        rows = self.conn.execute(
            select(o.c.id, o.c.amount_fen - o.c.refunded_fen, o.c.consumer_id, o.c.merchant_id,
                   o.c.referrer_id, o.c.voucher_fen + o.c.pool_fen)
            .where(o.c.id.in_(order_ids), o.c.refunded_fen < o.c.amount_fen).order_by(o.c.id))
        return [(int(a), int(b), int(c), int(d), None if e is None else int(e), int(f))
                for a, b, c, d, e, f in rows]
