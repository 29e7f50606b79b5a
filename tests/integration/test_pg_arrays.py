"""Array literals built on the client come back from PostgreSQL exactly as they were sent."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gongsheng.adapters.pg_arrays import array_literal, column_arrays, int_array

# any text PostgreSQL stores (UTF-8: no NUL, no lone surrogate), including quotes, backslashes,
# braces, commas, blanks, the word NULL and the empty string
TEXT = st.one_of(st.sampled_from(["", "NULL", "null", " a ", '"', "\\", "{}", "a,b", "\\\"x"]),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                         max_size=30))
BIGINT = st.integers(-(2**63), 2**63 - 1)


@pytest.mark.postgres
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), TEXT), max_size=12),
       ints=st.lists(st.one_of(st.none(), BIGINT), max_size=12),
       bools=st.lists(st.one_of(st.none(), st.booleans()), max_size=6),
       plain=st.lists(BIGINT, max_size=12))
def test_literals_round_trip(pg_admin: Engine, texts: list[str | None], ints: list[int | None],
                             bools: list[bool | None], plain: list[int]) -> None:
    with pg_admin.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT %(t)s::text[], %(i)s::bigint[], %(b)s::boolean[], %(p)s::bigint[]",
            {"t": array_literal(texts), "i": array_literal(ints), "b": array_literal(bools),
             "p": int_array(plain)}).one()
    assert (row[0], row[1], row[2], row[3]) == (texts, ints, bools, plain)


def test_column_arrays_split_rows_into_columns() -> None:
    params = column_arrays("x", [(1, "a", True), (2, 'b"', None)], 3)
    assert params == {"x0": "{1,2}", "x1": '{"a","b\\""}', "x2": "{t,NULL}"}
    assert column_arrays("y", [], 2) == {"y0": "{}", "y1": "{}"}


class Colour(StrEnum):
    RED = "red"


def test_other_types_are_refused_not_sent_as_their_str() -> None:
    for value in (Decimal("1.5"), 1.5, b"x", Colour.RED):
        with pytest.raises(TypeError, match="no array element"):
            array_literal([value])
