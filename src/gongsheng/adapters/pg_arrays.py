"""PostgreSQL array literals, built on the client.

Many rows travel to PostgreSQL as one array per column, spread back into rows by ``unnest``.
Each array is sent as one text parameter holding its literal (``{1,2,NULL}``, cast in the SQL:
``%(x)s::bigint[]``): joining the elements into a string costs the client a fraction of what
adapting a Python list element by element costs, and the server parses the literal in C.

Invariant: ``array_literal(values)`` cast to the column's array type gives back ``values``
exactly, for integers, booleans, ``None`` (with the server's default ``array_nulls = on``) and
any text PostgreSQL can store (every text element is quoted, with ``"`` and ``\\`` escaped).
Any other type is refused (``TypeError``), never sent as its ``str``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, String, Text, any_, bindparam, cast, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType


def _element(value: object) -> str:
    kind = type(value)
    if kind is int:
        return str(value)
    if value is None:
        return "NULL"
    if kind is bool:
        return "t" if value else "f"
    if kind is not str:  # a str subclass (an enum member) or anything else would go as its repr
        raise TypeError(f"no array element of type {kind.__name__}: pass int, bool, str or None")
    assert isinstance(value, str)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Iterable[object]) -> str:
    """The literal of a one-dimensional array of ``values``."""
    return "{" + ",".join(map(_element, values)) + "}"


def int_array(values: Iterable[int]) -> str:
    """The literal of an array of integers (no ``None``): the common case, quicker."""
    return "{" + ",".join(map(str, values)) + "}"


def column_arrays(prefix: str, rows: Sequence[Sequence[Any]], width: int) -> dict[str, str]:
    """Parameters ``{prefix}0 .. {prefix}{width-1}``: the array literal of each column of ``rows``."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    return {f"{prefix}{i}": array_literal(c) for i, c in enumerate(columns)}


def among(conn: Connection, column: ColumnElement[Any], values: Collection[Any]
          ) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(<one array literal>)``, so that the
    statement's text and its parameters stay the same whatever the number of values (an
    ``IN`` list is rendered and converted anew for each length, a cost that grew with batches
    of thousands).

    The literal is sent untyped and cast to the array type, so the server reads it as an
    array parameter, a constant of the plan: a sequential scan then looks each row up in a hash
    of the values. Sent as text and converted in the query, it is an expression, compared
    value by value with every row (seconds for a batch on a table not yet analysed)."""
    if conn.dialect.name == "postgresql":
        return column == any_(cast(literal(array_literal(values), NullType()), _array_of(column)))
    return column.in_(values)


def any_of(column: ColumnElement[Any], name: str = "ids") -> ColumnElement[bool]:
    """PostgreSQL: ``column = ANY(:name)``, the parameter one array literal (:func:`int_array`,
    :func:`array_literal`): a prebuilt statement's :func:`among`."""
    return column == any_(cast(bindparam(name, type_=NullType()), _array_of(column)))


def _array_of(column: ColumnElement[Any]) -> ARRAY[Any]:
    """The array type to cast the values to: a string column's is unbounded text, as a cast to
    ``varchar(n)[]`` would cut a longer value to its first ``n`` characters (which would then
    match a row holding that prefix, where ``IN`` matches nothing)."""
    return ARRAY(Text() if isinstance(column.type, String) else column.type)
