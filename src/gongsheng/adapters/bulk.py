"""Additive upserts: ``value = value + delta`` on many keyed rows in one statement; and
keyed updates (:class:`SetRow`) that can join another statement the same way.

Balances, holdings, group totals and period counters are all kept this way. Rows are sorted by
key before they are written, so concurrent transactions lock shared rows in the same order and
cannot deadlock each other. PostgreSQL receives the rows as arrays (one ``unnest`` statement,
prepared once; see ``pg_arrays``); SQLite, in process, takes an ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Integer, Table
from sqlalchemy.dialects import postgresql, sqlite

from gongsheng.adapters import tables as t
from gongsheng.adapters.pg_arrays import column_arrays


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` of the connection's dialect, which has ``on_conflict_do_nothing``/``_update``."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _pg_type(table: Table, column: str) -> str:
    col_type = table.c[column].type
    if isinstance(col_type, Boolean):
        return "boolean"
    if isinstance(col_type, BigInteger):
        return "bigint"
    if isinstance(col_type, Integer):
        return "integer"
    return "text"


@cache
def _sql(dialect: str, table_name: str, keys: tuple[str, ...], adds: tuple[str, ...],
         extras: tuple[str, ...], prefix: str = "c") -> str:
    table = t.metadata.tables[table_name]
    cols = (*keys, *adds, *extras)
    names = ", ".join(cols)
    updates = ", ".join(f"{c} = {table_name}.{c} + excluded.{c}" for c in adds)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    if dialect == "postgresql":
        arrays = ", ".join(f"%({prefix}{i})s::{_pg_type(table, c)}[]" for i, c in enumerate(cols))
        return (f"INSERT INTO {table_name} ({names}) SELECT * FROM unnest({arrays}) "
                f"AS u({names}) ORDER BY {', '.join(keys)} {conflict}")
    marks = ", ".join("?" for _ in cols)
    return f"INSERT INTO {table_name} ({names}) VALUES ({marks}) {conflict}"


def upsert_add(conn: Connection, table: Table, keys: Sequence[str], adds: Sequence[str],
               rows: Sequence[tuple[Any, ...]], extras: Sequence[str] = ()) -> None:
    """Add each row's ``adds`` columns onto the row with its ``keys`` (inserting it if new).

    ``rows`` are tuples ``(*keys, *adds, *extras)``; ``extras`` are written on insert only.
    Rows with equal keys must be merged by the caller.
    """
    AddRows(table, tuple(keys), tuple(adds), tuple(rows), tuple(extras)).write(conn)


@dataclass(frozen=True)
class AddRows:
    """One additive upsert (the arguments of :func:`upsert_add`), to be written later or as part
    of a larger PostgreSQL statement (a ``WITH`` clause; see ``ledger_store.post``)."""

    table: Table
    keys: tuple[str, ...]
    adds: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    extras: tuple[str, ...] = ()

    def write(self, conn: Connection) -> None:
        """Write the rows now, in one statement."""
        if not self.rows:
            return
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(*self.pg_statement())
        else:
            sql = _sql("sqlite", self.table.name, self.keys, self.adds, self.extras)
            conn.exec_driver_sql(sql, self._ordered())

    def pg_statement(self, prefix: str = "c") -> tuple[str, dict[str, str]]:
        """PostgreSQL text and parameters (named ``{prefix}0``, ``{prefix}1``, ...)."""
        sql = _sql("postgresql", self.table.name, self.keys, self.adds, self.extras, prefix)
        width = len(self.keys) + len(self.adds) + len(self.extras)
        return sql, column_arrays(prefix, self._ordered(), width)

    def _ordered(self) -> list[tuple[Any, ...]]:
        return sorted(self.rows, key=lambda r: r[: len(self.keys)])


@dataclass(frozen=True)
class SetRow:
    """An update of one existing row found by its key: ``adds`` columns raised by their deltas,
    ``sets`` columns set. Like :class:`AddRows` it is written now or joins a larger PostgreSQL
    statement (``ledger_store.post``'s ``along``).

    Unlike an upsert it never proposes a row, so a delta may take a column down to its
    ``CHECK``'s bound (a row proposed for insertion is checked before its conflict is seen).
    The caller has read the row under its lock: a missing row is updated nowhere.
    """

    table: Table
    keys: tuple[tuple[str, Any], ...]
    adds: tuple[tuple[str, int], ...] = ()
    sets: tuple[tuple[str, Any], ...] = ()

    def write(self, conn: Connection) -> None:
        """Write the update now."""
        c = self.table.c
        where = [c[name] == value for name, value in self.keys]
        values = {**{name: c[name] + delta for name, delta in self.adds}, **dict(self.sets)}
        conn.execute(self.table.update().where(*where).values(values))

    def pg_statement(self, prefix: str = "s") -> tuple[str, dict[str, Any]]:
        """PostgreSQL text and parameters (named ``{prefix}0``, ``{prefix}1``, ...)."""
        params: dict[str, Any] = {}

        def mark(name: str, value: Any) -> str:
            key = f"{prefix}{len(params)}"
            params[key] = value
            return f"%({key})s::{_pg_type(self.table, name)}"

        assigns = [f"{n} = {self.table.name}.{n} + {mark(n, d)}" for n, d in self.adds]
        assigns += [f"{n} = {mark(n, v)}" for n, v in self.sets]
        where = " AND ".join(f"{n} = {mark(n, v)}" for n, v in self.keys)
        return f"UPDATE {self.table.name} SET {', '.join(assigns)} WHERE {where}", params


Along = AddRows | SetRow
"""A write that joins a journal entry's statement (``ledger_store.post``'s ``along``)."""
