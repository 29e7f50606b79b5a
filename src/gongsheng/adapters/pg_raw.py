"""Long PostgreSQL statements sent with numbered parameters, their placeholders converted once.

psycopg turns a query's ``%(name)s`` placeholders into PostgreSQL's ``$1, $2, ...`` on every
call, and keeps the conversion only for queries of at most 4,096 characters and 50 parameters.
The order statement (``order_store``) is longer and has more, so its text was scanned again for
every batch and every single order. :func:`fetch_all` converts a statement once (kept per text)
and sends it through psycopg's ``RawCursor``, which takes ``$n`` placeholders as they are, on
the SQLAlchemy connection's own DB-API connection, so inside its transaction.

Invariant: a statement run here returns the rows ``conn.exec_driver_sql(sql, params).all()``
returns, and fails as it fails: a database error a domain error names is raised as that error
(``storage_errors.domain_error``), any other as SQLAlchemy's ``DBAPIError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from gongsheng.adapters.storage_errors import domain_error

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")


@cache
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with each ``%(name)s`` replaced by ``$k`` (one number per name, in order of first
    appearance) and ``%%`` by ``%``; and the names in number order. A lone ``%`` is refused.
    Each text is kept: for fixed statement texts only."""
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            if match.group(0) == "%":
                raise ValueError(f"a lone % in a statement (write %% for %): {sql[:80]!r}")
            return "%"
        return f"${names.setdefault(name, len(names) + 1)}"

    return _PLACEHOLDER.sub(number, sql), tuple(names)


def fetch_all(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``%(name)s`` placeholders) with ``params`` on PostgreSQL; its rows.

    The statement runs in ``conn``'s transaction (begun first, as SQLAlchemy would, if none is);
    an error's message hides the parameters when the engine hides them (``make_engine``: always).
    Unlike ``exec_driver_sql`` it is not echoed, and a lost connection is not marked invalid
    here (the pool's pre-ping or the next statement finds it)."""
    text, names = numbered(sql)
    if not conn.in_transaction():
        conn.begin()
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    values = [params[name] for name in names]
    try:
        with psycopg.RawCursor(driver) as cur:
            cur.execute(text, values)
            return cur.fetchall() if cur.description is not None else []
    except psycopg.Error as exc:
        translated = domain_error(exc)
        if translated is not None:
            raise translated from exc
        raise DBAPIError.instance(sql, dict(params), exc, psycopg.Error,
                                  hide_parameters=conn.engine.hide_parameters,
                                  dialect=conn.dialect, ismulti=False) from exc
