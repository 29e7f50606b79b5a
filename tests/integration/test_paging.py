"""Lists paged by key in the database (SQLite and PostgreSQL): walks that never repeat or skip a
row while rows are added, newer and older pages that undo each other, and the indexes of
migration 0021 (``adapters/paging.py``)."""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import SAWarning

from gongsheng.adapters import tables as t
from gongsheng.adapters.database import alembic_config, migrate
from gongsheng.adapters.paging import NAME_SEARCH_INDEX, KeyedPage, keyed_page, term_matches
from gongsheng.domain.errors import InvalidInput
from gongsheng.services.platform import Platform
from gongsheng.views import directory, reports

if TYPE_CHECKING:
    from conftest import City

_examples = itertools.count()


def _ids(page: KeyedPage[dict[str, Any]]) -> list[int]:
    return [int(p["party_id"]) for p in page.items]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 13), size=st.integers(1, 5), added=st.lists(st.integers(0, 3), max_size=6))
def test_walks_serve_every_row_once_and_newer_undoes_older(city: City, count: int, size: int,
                                                             added: list[int]) -> None:
    """Older pages from the newest serve the rows there when the walk began, once each, newest
    first, whatever is added between page reads; newer pages from the last one serve every row
    there now, once each, the last of them the newest rows."""
    plat: Platform = city.platform
    name = f"Paged {next(_examples)}"  # each example lists its own parties

    def add(n: int) -> None:
        for i in range(n):
            plat.consumer(f"{name} {i}")

    def page(**cursor: int | None) -> KeyedPage[dict[str, Any]]:
        return plat.read(lambda c: directory.parties(c, q=name, limit=size, newer=True, **cursor))

    add(count)
    existing = _ids(plat.read(lambda c: directory.parties(c, q=name, limit=200)))
    assert len(existing) == count
    walked: list[int] = []
    pages = [page()]
    assert pages[0].newer is None
    more = iter(added)
    while True:
        walked += _ids(pages[-1])
        if pages[-1].older is None:
            break
        add(next(more, 0))
        pages.append(page(before=pages[-1].older))
        assert pages[-1].newer is not None and pages[-1].items
    assert walked == existing and len(set(walked)) == len(walked)
    now = _ids(plat.read(lambda c: directory.parties(c, q=name, limit=200)))
    back, current = _ids(pages[-1]), pages[-1]
    while current.newer is not None:
        current = page(after=current.newer)  # the nearest rows above: full unless the newest
        assert current.older is not None and (len(current.items) == size or current.newer is None)
        back = _ids(current) + back
    assert back == now
    assert current.items == [] or _ids(current) == now[:len(current.items)]
    assert _ids(page()) == now[:size]


def test_a_page_is_below_or_above_a_key_never_both(platform: Platform) -> None:
    with pytest.raises(InvalidInput):
        platform.read(lambda c: directory.parties(c, before=10, after=1))
    with platform.engine.connect() as conn, pytest.raises(ValueError):
        keyed_page(conn, t.parties.select(), t.parties.c.id, 0)


def test_an_empty_page_still_links_to_the_rows_beside_its_cursor(city: City) -> None:
    plat = city.platform
    newest = plat.read(lambda c: directory.parties(c, limit=200)).items[0]["party_id"]
    beyond = plat.read(lambda c: directory.parties(c, after=newest, limit=5))
    assert beyond.items == [] and beyond.newer is None and beyond.older == newest + 1
    below = plat.read(lambda c: directory.parties(c, before=1, limit=5, newer=True))
    assert below.items == [] and below.older is None and below.newer == 0


def _indexes(conn: Connection, table: str) -> set[str]:
    with warnings.catch_warnings():  # SQLite does not reflect the expression indexes (0023)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        return {str(i["name"]) for i in inspect(conn).get_indexes(table)}


def _trigram(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.execute(text(
        "SELECT 1 FROM pg_indexes WHERE indexname = :n AND indexdef LIKE '%gin_trgm_ops%'"),
        {"n": NAME_SEARCH_INDEX}).first() is not None


def test_migration_0021_keys_the_lists_indexes_and_undoes_it(city: City, dialect: str) -> None:
    """Down to 0020: the single-column indexes are back and the keyed ones gone; up again: the
    keyed ones (and on PostgreSQL the trigram index of names) replace them."""
    engine = city.platform.engine
    keyed = {"parties": "ix_parties_kind_key", "merchant_signings": "ix_merchant_signings_signer_key",
             "cases": "ix_cases_status_key", "share_programmes": "ix_share_programmes_open"}
    replaced = {"merchant_signings": "ix_merchant_signings_signer", "cases": "ix_cases_status"}
    with engine.connect() as conn:
        assert all(name in _indexes(conn, table) for table, name in keyed.items())
        assert not any(name in _indexes(conn, table) for table, name in replaced.items())
        assert _trigram(conn) is (dialect == "postgres")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0020")
    with engine.connect() as conn:
        assert not any(name in _indexes(conn, table) for table, name in keyed.items())
        assert all(name in _indexes(conn, table) for table, name in replaced.items())
        assert not _trigram(conn)
    migrate(engine)
    migrate(engine)  # a repeat changes nothing
    with engine.connect() as conn:
        assert all(name in _indexes(conn, table) for table, name in keyed.items())
        assert not any(name in _indexes(conn, table) for table, name in replaced.items())
        assert _trigram(conn) is (dialect == "postgres")
    page = city.platform.read(lambda c: directory.parties(c, q="Consumer", limit=5))
    assert {p["party_id"] for p in page.items} == {city.consumer, city.referrer}


@pytest.mark.parametrize("role", ["bm", "promoter"])
def test_a_party_s_merchants_walk_by_key_newest_first(city: City, role: str) -> None:
    """A BM's bound merchants and a promoter's signed ones: pages of two, newest first, every
    merchant once, the count beside them; the merchants of no other party among them."""
    party = city.bm if role == "bm" else city.promoter
    terms = {"bm_id": city.bm, "bm_rate": "0.01"} if role == "bm" else {"promoter_id": city.promoter}
    added = [city.add_merchant(f"Keyed {role} {i}", **terms) for i in range(5)]
    city.add_merchant(f"Keyed {role} other")  # nobody's
    mine = sorted([city.merchant, *added], reverse=True)
    walked: list[int] = []
    before: int | None = None
    while True:
        page = city.platform.read(
            lambda c, b=before: reports.party_merchants(c, role, party, limit=2, before=b))
        walked += [m["merchant_id"] for m in page.items]
        if page.older is None:
            break
        before = page.older
    assert walked == mine
    assert city.platform.read(lambda c: reports.party_merchant_count(c, role, party)) == len(mine)
    newer = city.platform.read(
        lambda c: reports.party_merchants(c, role, party, limit=2, after=mine[2]))
    assert [m["merchant_id"] for m in newer.items] == mine[:2] and newer.newer is None


def test_migration_0022_keys_a_party_s_merchants_and_undoes_it(city: City) -> None:
    """Down to 0021: ``merchants.bm_id`` and ``promoter_id`` have their single-column indexes
    again; up: the keyed ones replace them."""
    engine = city.platform.engine
    keyed = {"ix_merchants_bm_key", "ix_merchants_promoter_key"}
    replaced = {"ix_merchants_bm_id", "ix_merchants_promoter_id"}
    with engine.connect() as conn:
        assert keyed <= _indexes(conn, "merchants") and not replaced & _indexes(conn, "merchants")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0021")
    with engine.connect() as conn:
        assert replaced <= _indexes(conn, "merchants") and not keyed & _indexes(conn, "merchants")
    migrate(engine)
    with engine.connect() as conn:
        assert keyed <= _indexes(conn, "merchants") and not replaced & _indexes(conn, "merchants")


def _name_start_indexes(conn: Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'parties'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'parties'"
    return {str(n) for n in conn.exec_driver_sql(sql).scalars() if "name_start" in str(n)}


def test_migration_0023_indexes_a_name_s_start_and_a_short_search_reads_it(city: City) -> None:
    """Down to 0022 the two indexes of a name's first characters are gone, up again they are back
    (twice changes nothing); a search of one or two characters finds the names that start with
    it, newest first, and on PostgreSQL reads that index rather than the whole list."""
    engine = city.platform.engine
    both = {"ix_parties_name_start1", "ix_parties_name_start2"}
    with engine.connect() as conn:
        assert _name_start_indexes(conn) == both
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0022")
    with engine.connect() as conn:
        assert _name_start_indexes(conn) == set()
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert _name_start_indexes(conn) == both
    with engine.connect() as conn:
        names = dict(conn.execute(t.parties.select()
                                  .with_only_columns(t.parties.c.id, t.parties.c.name)).all())
    for term in ("C", "Co", "M", "zz"):
        page = city.platform.read(lambda c, term=term: directory.parties(c, q=term, limit=50))
        expected = sorted((i for i, n in names.items() if n.startswith(term)), reverse=True)
        assert [p["party_id"] for p in page.items] == expected[:50]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            query = (select(t.parties.c.id).where(term_matches("Co", [t.parties.c.name]))
                     .order_by(t.parties.c.id.desc()).limit(51))
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql).scalars())
        assert "ix_parties_name_start2" in plan
