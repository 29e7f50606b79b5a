"""Additive upserts: ``value = value + delta`` on many keyed rows in one statement.

Balances, holdings, group totals and period counters are all kept this way. Rows are sorted by
key before they are written, so concurrent transactions lock shared rows in the same order and
cannot deadlock each other. PostgreSQL receives the rows as arrays (one ``unnest`` statement,
prepared once); SQLite, in process, takes an ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Integer, Table

from gongsheng.adapters import tables as t


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
         extras: tuple[str, ...]) -> str:
    table = t.metadata.tables[table_name]
    cols = (*keys, *adds, *extras)
    names = ", ".join(cols)
    updates = ", ".join(f"{c} = {table_name}.{c} + excluded.{c}" for c in adds)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    if dialect == "postgresql":
        arrays = ", ".join(f"%(c{i})s::{_pg_type(table, c)}[]" for i, c in enumerate(cols))
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
    if not rows:
        return
    dialect = conn.dialect.name
    sql = _sql(dialect, table.name, tuple(keys), tuple(adds), tuple(extras))
    ordered = sorted(rows, key=lambda r: r[: len(keys)])
    if dialect == "postgresql":
        columns = list(zip(*ordered, strict=True))
        conn.exec_driver_sql(sql, {f"c{i}": list(c) for i, c in enumerate(columns)})
    else:
        conn.exec_driver_sql(sql, ordered)
