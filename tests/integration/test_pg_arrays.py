"""Array literals built on the client come back from PostgreSQL exactly as they were sent;
``among`` selects what ``IN`` selects; ``fetch_all`` answers and fails as SQLAlchemy would."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, insert, select
from sqlalchemy.exc import DBAPIError

from gongsheng.adapters.database import make_engine
from gongsheng.adapters.pg_arrays import among, array_literal, column_arrays, int_array
from gongsheng.adapters.pg_raw import fetch_all
from gongsheng.adapters.storage_errors import _NONNEGATIVE
from gongsheng.domain.errors import InsufficientBalance

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


@pytest.mark.postgres
@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 10**12), TEXT), max_size=12, unique_by=lambda r: r[1]),
       wanted=st.lists(st.one_of(TEXT, st.just("abcdef")), max_size=12))
def test_among_selects_what_in_selects(pg_admin: Engine, rows: list[tuple[int, str]],
                                       wanted: list[str]) -> None:
    """``among`` (one array parameter) picks exactly the rows ``IN`` picks, texts with quotes,
    commas and braces included, and integers as well; on a column declared ``varchar(3)`` a
    longer value matches nothing (a cast to ``varchar(3)[]`` would cut it to its prefix)."""
    table = Table("among_probe", MetaData(), Column("n", BigInteger), Column("s", String(3)))
    with pg_admin.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS among_probe (n bigint, s text)")
        conn.exec_driver_sql("TRUNCATE among_probe")
        rows = [*rows, (10**13, "abc")]  # the prefix of "abcdef"
        conn.execute(insert(table), [{"n": n, "s": s} for n, s in rows])
        for col, values in ((table.c.s, wanted), (table.c.n, [n for n, _ in rows[::2]] + [0])):
            got = conn.execute(select(table.c.n).where(among(conn, col, values))).scalars().all()
            expected = conn.execute(select(table.c.n).where(col.in_(values))).scalars().all()
            assert sorted(got) == sorted(expected)
            held = [n for n, s in rows if (s if col is table.c.s else n) in values]
            assert sorted(got) == sorted(held)


@pytest.mark.postgres
def test_fetch_all_returns_rows_and_fails_as_sqlalchemy_would(pg_url: str) -> None:
    """The rows of ``exec_driver_sql``, in the connection's transaction (begun if none is, so a
    commit keeps what it wrote); a violation a domain error names raises that error, any other
    database error SQLAlchemy's ``DBAPIError`` with the parameters hidden; a savepoint around a
    failed statement rolls back and the transaction goes on."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE TABLE raw_probe (k text CONSTRAINT {_NONNEGATIVE}"
                                 " CHECK (k <> 'x'))")
            conn.commit()
            sql = "SELECT x, %(tag)s FROM unnest(%(xs)s::bigint[]) AS u(x) WHERE x > %(at_least)s"
            params = {"xs": int_array([3, 1, 2]), "tag": "a%b", "at_least": 1}
            assert fetch_all(conn, sql, params) == [tuple(r) for r in conn.exec_driver_sql(sql, params)]
            conn.rollback()
            assert not conn.in_transaction()
            fetch_all(conn, "INSERT INTO raw_probe VALUES (%(k)s)", {"k": "kept"})
            conn.commit()
            with conn.begin_nested():
                with pytest.raises(DBAPIError) as failed, conn.begin_nested():
                    fetch_all(conn, "SELECT 1 / (length(%(v)s::text) - 14)", {"v": "secret-value-1"})
                assert "secret-value-1" not in str(failed.value) and "hidden" in str(failed.value)
                with pytest.raises(InsufficientBalance), conn.begin_nested():
                    fetch_all(conn, "INSERT INTO raw_probe VALUES (%(k)s)", {"k": "x"})
                fetch_all(conn, "INSERT INTO raw_probe VALUES (%(k)s)", {"k": "after"})
            conn.commit()
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT k FROM raw_probe ORDER BY k").scalars().all()
        assert kept == ["after", "kept"]
    finally:
        engine.dispose()
