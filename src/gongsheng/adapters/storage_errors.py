"""The one place where storage errors become domain errors (as a transport maps its errors once).

:func:`translate_storage_errors` hooks an engine's ``handle_error`` event, so every statement
run through it raises the engine's own errors for the failures a use case can act on:

- a unique violation on an ``idem_key`` column (a concurrent request with the same
  idempotency key committed first) -> :class:`DuplicateRequest`;
- a second active partner for a region (``uq_partners_region_active``) -> :class:`AlreadyHeld`;
- a deadlock or a serialisation failure on PostgreSQL (SQLSTATE 40P01, 40001) ->
  :class:`RetryTransaction`.

Anything else stays a SQLAlchemy error (an outage, a bug): the entry points report it as a
database error. The SQLite / PostgreSQL difference of reading a violation is kept here.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import AlreadyHeld, DuplicateRequest, GongshengError, RetryTransaction

RETRY_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction may be run again."""

_KEY_COLUMN = "idem_key"
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.(\w+)")


def _key_constraints() -> frozenset[str]:
    """Names of the constraints that make an ``idem_key`` unique, from the schema itself."""
    names: set[str] = set()
    for table in t.metadata.tables.values():
        if _KEY_COLUMN not in table.c:
            continue
        for constraint in table.constraints:
            columns = getattr(constraint, "columns", ())
            if [c.name for c in columns] == [_KEY_COLUMN] and constraint.name:
                names.add(str(constraint.name))
    return frozenset(names)


_KEY_CONSTRAINTS = _key_constraints()
_REGION_HELD = ("uq_partners_region_active", ("partners", "region_id"))


def _unique_error(constraint: str | None, table_column: tuple[str, str] | None) -> GongshengError | None:
    """The domain error of a unique violation, named by constraint (PostgreSQL) or column (SQLite)."""
    if constraint in _KEY_CONSTRAINTS or (table_column is not None
                                         and table_column[1] == _KEY_COLUMN):
        return DuplicateRequest("a request with the same idempotency key committed first")
    if constraint == _REGION_HELD[0] or table_column == _REGION_HELD[1]:
        return AlreadyHeld("the region is already held by a partner")
    return None


def domain_error(orig: Any) -> GongshengError | None:
    """The domain error a DB-API error stands for, or None when it is not one a use case handles."""
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        if sqlstate in RETRY_SQLSTATES:
            return RetryTransaction("a concurrent transaction touched the same rows; retry")
        if sqlstate == "23505":
            return _unique_error(getattr(getattr(orig, "diag", None), "constraint_name", None), None)
        return None
    match = _SQLITE_UNIQUE.search(str(orig))
    return _unique_error(None, (match.group(1), match.group(2))) if match is not None else None


def translate_storage_errors(engine: Engine) -> None:
    """Make ``engine`` raise domain errors for the storage failures named in this module."""

    @event.listens_for(engine, "handle_error", retval=True)
    def _translate(context: ExceptionContext) -> BaseException | None:
        return domain_error(context.original_exception)
