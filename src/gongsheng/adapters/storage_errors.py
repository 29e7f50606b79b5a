"""The one place where storage errors become domain errors (as a transport maps its errors once).

:func:`translate_storage_errors` hooks an engine's ``handle_error`` event, so every statement
run through it raises the engine's own errors for the failures a use case can act on:

- a unique violation on an ``idem_key`` column (a concurrent request with the same
  idempotency key committed first) -> :class:`DuplicateRequest`;
- a second active partner for a region (``uq_partners_region_active``) -> :class:`AlreadyHeld`;
- a referral code drawn twice (``uq_consumers_referral_code``) -> :class:`CodeTaken`;
- a take from a balance that must stay non-negative (``ck_balances_nonneg``) ->
  :class:`InsufficientBalance` (the ledger store names the account);
- a deadlock or a serialisation failure on PostgreSQL (SQLSTATE 40P01, 40001) ->
  :class:`RetryTransaction`.

Anything else stays a SQLAlchemy error (an outage, a bug): the entry points report it as a
database error. The SQLite / PostgreSQL difference of reading a violation is kept here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CheckConstraint, Engine, Table, UniqueConstraint, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import (
    AlreadyHeld,
    CodeTaken,
    DuplicateRequest,
    GongshengError,
    InsufficientBalance,
    RetryTransaction,
    WriteRefused,
)

RETRY_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction may be run again."""

_KEY_COLUMN = "idem_key"
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.(\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")


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


def _unique_on(table: Table, column: str) -> tuple[str, tuple[str, str]]:
    """``table``'s unique constraint on ``column`` as each database names it: the constraint's
    name (PostgreSQL) and ``(table, column)`` (SQLite)."""
    name = next(str(c.name) for c in table.constraints
                if isinstance(c, UniqueConstraint) and [x.name for x in c.columns] == [column])
    return name, (table.name, column)


_REFERRAL_CODE = _unique_on(t.consumers, "referral_code")
_NONNEGATIVE = next(str(c.name) for c in t.balances.constraints if isinstance(c, CheckConstraint))


def _unique_error(constraint: str | None, table_column: tuple[str, str] | None) -> GongshengError | None:
    """The domain error of a unique violation, named by constraint (PostgreSQL) or column (SQLite)."""
    if constraint in _KEY_CONSTRAINTS or (table_column is not None
                                         and table_column[1] == _KEY_COLUMN):
        return DuplicateRequest("a request with the same idempotency key committed first")
    if constraint == _REGION_HELD[0] or table_column == _REGION_HELD[1]:
        return AlreadyHeld("the region is already held by a partner")
    if constraint == _REFERRAL_CODE[0] or table_column == _REFERRAL_CODE[1]:
        return CodeTaken("the referral code drawn is another consumer's")
    return None


def _check_error(constraint: str | None) -> GongshengError | None:
    """The domain error of a check violation, named by its constraint (both databases)."""
    if constraint == _NONNEGATIVE:
        return InsufficientBalance("a balance that must stay non-negative would fall below zero")
    return None


def domain_error(orig: Any) -> GongshengError | None:
    """The domain error a DB-API error stands for, or None when it is not one a use case handles."""
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        if sqlstate in RETRY_SQLSTATES:
            return RetryTransaction("a concurrent transaction touched the same rows; retry")
        constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
        if sqlstate == "23505":
            return _unique_error(constraint, None)
        if sqlstate == "23514":
            return _check_error(constraint)
        return None
    message = str(orig)
    match = _SQLITE_UNIQUE.search(message)
    if match is not None:
        return _unique_error(None, (match.group(1), match.group(2)))
    check = _SQLITE_CHECK.search(message)
    return _check_error(check.group(1)) if check is not None else None


def translate_storage_errors(engine: Engine) -> None:
    """Make ``engine`` raise domain errors for the storage failures named in this module."""

    @event.listens_for(engine, "handle_error", retval=True)
    def _translate(context: ExceptionContext) -> BaseException | None:
        return domain_error(context.original_exception)


@contextmanager
def refused_as_domain_error() -> Iterator[None]:
    """In the block, any storage error left untranslated (no domain error names it) is raised
    as :class:`WriteRefused`, for a use case that falls back on a refusal (``services.batch``)."""
    try:
        yield
    except DBAPIError as exc:
        raise WriteRefused(f"the database refused the write: {exc.orig}") from exc
