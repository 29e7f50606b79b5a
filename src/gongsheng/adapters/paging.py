"""Lists paged by key (keyset paging), newest first: every list the API and the pages show.

A list is a query over rows that each have a unique integer key that never changes (an id
drawn from a sequence: ``orders.id``, ``parties.id``, ...). A page is the rows whose key lies
below ``before`` (older rows) or above ``after`` (newer rows), newest first, at most ``limit``:
one index range scan from the cursor whatever its depth, never an ``OFFSET`` (whose cost is every
row it skips). That holds when an index leads with the list's equality filters and ends with the
key; ``tables.py`` names the index of every list. One row more than the page is read to know
whether another page lies beyond it, so nothing counts the list.

**A walk never repeats or skips a row.** Following ``older`` from the newest page serves every row
that existed when the walk began exactly once, in key order: keys are unique and never change,
and each page starts strictly below the last key served. A row inserted during the walk gets a
larger key and sorts before the first page (it is not part of that walk); on PostgreSQL a key
drawn before the walk began may commit during it, and that row is then served once where its
key sorts or not at all, never twice. A deleted row simply stops being served.

**Search.** :func:`term_matches` is the one way a list matches a search term: an exact id, or a
name fragment of three characters or more anywhere in a name, a shorter one at a name's start.
On PostgreSQL a trigram index of party names answers a fragment of three characters or more
(:func:`install_name_search`); a shorter fragment inside a name has no trigrams and would read
every row, so it is not offered. A start of one or two characters is compared with the name's
first characters (:func:`name_start`), which expression indexes of ``parties`` hold beside the
key on both databases (``tables.NAME_START_LENGTHS``): the matches are read newest first from
the index, whatever the number of parties. SQLite has no trigram index and walks the key range
newest first until the page is full for a longer fragment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select, false, func, literal_column, or_
from sqlalchemy.exc import DBAPIError

from gongsheng.domain.errors import InvalidInput

T = TypeVar("T")
U = TypeVar("U")

MAX_KEY = 2**63 - 1
"""The largest key a list's id column holds (a signed 64-bit integer on both databases)."""
SHORT_TERM = 3
"""Search terms shorter than this match the start of a name only (see the module's docstring)."""


@dataclass(frozen=True)
class KeyedPage(Generic[T]):
    """A page of a list, newest first, and the cursors of the pages on either side of it.

    ``older`` is the ``before`` of the next older page (None: no older row); ``newer`` the
    ``after`` of the next newer page (None: no newer row, or it was not asked for)."""

    items: list[T]
    older: int | None
    newer: int | None = None

    def map(self, view: Callable[[T], U]) -> KeyedPage[U]:
        """The same page with every item shown through ``view``."""
        return KeyedPage([view(i) for i in self.items], self.older, self.newer)


def _key(row: Row[Any], key: ColumnElement[int]) -> int:
    return int(row._mapping[key])


def _exists(conn: Connection, query: Select[Any], key: ColumnElement[int]) -> bool:
    probe = query.with_only_columns(key, maintain_column_froms=True).limit(1)
    return conn.execute(probe).first() is not None


def keyed_page(conn: Connection, query: Select[Any], key: ColumnElement[int], limit: int, *,
               before: int | None = None, after: int | None = None,
               newer: bool = False) -> KeyedPage[Row[Any]]:
    """Up to ``limit`` rows of ``query`` (filtered, not ordered, selecting ``key``), newest first by
    ``key``: those below ``before``, or the nearest above ``after``, or the newest.

    The cursor on the far side of the page is read from one row more than the page; the one on
    the near side (``newer`` of a page below ``before``, asked for by ``newer``; ``older`` of a
    page above ``after``) by a one-row probe: both are index range reads from the cursor."""
    if limit < 1:
        raise ValueError("a page holds at least one row")
    if before is not None and after is not None:
        raise InvalidInput("a page is either below one key (before) or above one (after), not both")
    if after is None:
        below = query if before is None else query.where(key < before)
        rows = list(conn.execute(below.order_by(key.desc()).limit(limit + 1)))
        page = rows[:limit]
        older = _key(page[-1], key) if len(rows) > limit else None
        if not newer or before is None:
            return KeyedPage(page, older)
        edge = _key(page[0], key) if page else before - 1
        return KeyedPage(page, older, edge if _exists(conn, query.where(key > edge), key) else None)
    rows = list(conn.execute(query.where(key > after).order_by(key.asc()).limit(limit + 1)))
    page = rows[:limit][::-1]
    edge = _key(page[-1], key) if page else after + 1
    return KeyedPage(page, edge if _exists(conn, query.where(key < edge), key) else None,
                     _key(page[0], key) if len(rows) > limit else None)


def name_start(name: ColumnElement[str], length: int) -> ColumnElement[str]:
    """The first ``length`` characters of ``name``, written as the expression indexes of
    ``parties`` are (``tables.NAME_START_LENGTHS``: the numbers inline, not bound), so that a
    search by a name's start reads its matches newest first from the index, however many
    parties there are (a ``LIKE 'me%'`` filter walked the whole list back to the oldest match)."""
    return func.substr(name, literal_column("1"), literal_column(str(length)))


def term_matches(term: str, names: Sequence[ColumnElement[str]],
                 ids: Sequence[ColumnElement[int]] = ()) -> ColumnElement[bool]:
    """Whether a row matches the search ``term`` (stripped, not empty): one of ``ids`` equal to it
    when it is an id, or one of ``names`` containing it (three characters or more) or starting
    with it (fewer)."""
    term = term.strip()
    if not term:
        raise ValueError("an empty term matches everything: leave the filter out instead")
    found: list[ColumnElement[bool]] = [
        (c.contains(term, autoescape=True) if len(term) >= SHORT_TERM
         else name_start(c, len(term)) == term) for c in names]
    if term.isdigit() and len(term) <= 19 and int(term) <= MAX_KEY:
        found += [c == int(term) for c in ids]
    return or_(*found) if found else false()


NAME_SEARCH_INDEX = "ix_parties_name_trgm"
"""PostgreSQL: the trigram (GIN) index of ``parties.name`` that name searches use."""


def install_name_search(conn: Connection) -> bool:
    """PostgreSQL: create the trigram index of party names (and the ``pg_trgm`` extension it
    needs, when missing); safe to repeat. Returns whether the index exists.

    Left out (False) on SQLite, and on a server without ``pg_trgm`` or where this role may not
    create it: a search then walks the key range newest first, as on SQLite."""
    if conn.dialect.name != "postgresql":
        return False
    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is None:
        if conn.exec_driver_sql(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first() is None:
            return False
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DBAPIError:  # a trusted extension, but the role lacks CREATE on the database
            return False
    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {NAME_SEARCH_INDEX} "
                         "ON parties USING gin (name gin_trgm_ops)")
    return True


def drop_name_search(conn: Connection) -> None:
    """Drop the trigram index of party names, if any (the extension stays: others may use it)."""
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {NAME_SEARCH_INDEX}")


__all__ = ["MAX_KEY", "NAME_SEARCH_INDEX", "SHORT_TERM", "KeyedPage", "drop_name_search",
           "install_name_search", "keyed_page", "name_start", "term_matches"]
