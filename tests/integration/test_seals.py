"""Seals of closed periods: written at close, append-only, recomputed by ``verify``, which names
the first period and entry altered behind the journal's guards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gongsheng.adapters import seal_store
from gongsheng.adapters.ddl import install_guards
from gongsheng.services import seals
from gongsheng.services.unit_of_work import stores_on
from gongsheng.views.verification import verify

if TYPE_CHECKING:
    from conftest import City
    from gongsheng.services.platform import Platform

JOURNAL_TRIGGERS = {
    "postgresql": [("journal_entry_balanced", "journal_entries"),
                   ("postings_legs_in_range", "postings"), ("postings_append_only", "postings"),
                   ("journal_entries_append_only", "journal_entries")],
    "sqlite": [(name, "") for name in (
        "postings_legs_in_range", "postings_entry_balanced", "postings_no_update",
        "postings_no_delete", "journal_entries_no_update", "journal_entries_no_delete")],
}


def behind_the_guards(plat: Platform, *sql: str) -> None:
    """Drop the journal's triggers, run ``sql``, restore the triggers (what a database owner can do)."""
    with plat.engine.begin() as conn:
        dialect = conn.dialect.name
        for name, table in JOURNAL_TRIGGERS[dialect]:
            conn.exec_driver_sql(f"DROP TRIGGER {name}" + (f" ON {table}" if table else ""))
        for statement in sql:
            conn.execute(text(statement))
        install_guards(conn)
    with pytest.raises(DBAPIError, match="append-only"), plat.engine.begin() as conn:
        conn.execute(text("UPDATE postings SET amount = amount"))  # the guards are back


def seal_check(plat: Platform, incremental: bool = False) -> seals.SealReport:
    return plat.read(lambda c: seals.verify_seals(stores_on(c), incremental=incremental))


@pytest.fixture
def sealed(city: City) -> City:
    """Three periods: orders in 1 and 2, a settlement in 3 (open)."""
    for amount in (100_000, 25_000, 7_001):
        city.order(amount)
    city.platform.close_period()
    city.order(50_000)
    city.platform.close_period()
    city.platform.wallet(city.consumer)
    return city


def _order_entry(conn: Connection, period: int) -> tuple[int, int]:
    """An order entry of ``period`` and one of its legs."""
    row = conn.execute(text("SELECT e.id, min(p.leg) FROM journal_entries e JOIN postings p "
                            "ON p.entry_id = e.id WHERE e.kind = 'order' AND e.period = :p "
                            "GROUP BY e.id ORDER BY e.id DESC LIMIT 1"), {"p": period}).one()
    return int(row[0]), int(row[1])


def test_close_seals_each_period_chained(sealed: City) -> None:
    plat = sealed.platform
    stored = plat.read(seal_store.seals)
    assert [s.period for s in stored] == [1, 2]
    assert stored[0].previous is None and stored[1].previous == stored[0].digest
    assert stored[1].first_id == stored[0].last_id + 1
    with plat.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM journal_entries WHERE period <= 2")).scalar_one()
    assert sum(s.entries for s in stored) == n
    report = seal_check(plat)
    assert report.ok, report.detail
    assert report.scanned >= n
    assert all(c.ok for c in verify(plat)), [c for c in verify(plat) if not c.ok]


@pytest.mark.parametrize("sql", ["UPDATE period_seals SET digest = 'x'", "DELETE FROM period_seals",
                                 "UPDATE period_seal_chunks SET entries = 0",
                                 "DELETE FROM period_seal_chunks"])
def test_seals_are_append_only(sealed: City, sql: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), sealed.platform.engine.begin() as conn:
        conn.execute(text(sql))


@pytest.mark.parametrize("what", ["amount", "account", "memo", "ref"])
def test_verify_names_the_entry_altered_behind_the_guards(sealed: City, what: str) -> None:
    plat = sealed.platform
    with plat.engine.connect() as conn:
        entry, leg = _order_entry(conn, 2)
    sql = {
        "amount": f"UPDATE postings SET amount = amount + 1 WHERE entry_id = {entry} AND leg = {leg}",
        "account": f"UPDATE postings SET account_id = account_id + 64 WHERE entry_id = {entry} "
                   f"AND leg = {leg}",
        "memo": f"UPDATE journal_entries SET memo = memo || '.' WHERE id = {entry}",
        "ref": f"UPDATE journal_entries SET ref_id = ref_id + 1 WHERE id = {entry}",
    }[what]
    assert seal_check(plat).ok
    behind_the_guards(plat, sql)
    report = seal_check(plat)
    assert not report.ok
    assert (report.period, report.entry_id) == (2, entry), report.detail
    assert "period 2" in report.detail and f"entry {entry}" in report.detail
    failed = [c for c in verify(plat) if not c.ok]
    assert "every closed period matches its seal" in [c.name for c in failed]


def test_verify_names_the_first_period_altered(sealed: City) -> None:
    plat = sealed.platform
    with plat.engine.connect() as conn:
        late, late_leg = _order_entry(conn, 2)
        early, early_leg = _order_entry(conn, 1)
    behind_the_guards(plat, f"UPDATE postings SET amount = amount - 5 WHERE entry_id = {late} "
                            f"AND leg = {late_leg}")
    behind_the_guards(plat, f"UPDATE postings SET amount = amount + 5 WHERE entry_id = {early} "
                            f"AND leg = {early_leg}")
    report = seal_check(plat)
    assert (report.period, report.entry_id) == (1, early), report.detail


def test_a_deleted_entry_is_found(sealed: City) -> None:
    plat = sealed.platform
    with plat.engine.connect() as conn:
        entry, _ = _order_entry(conn, 1)
    behind_the_guards(plat, f"DELETE FROM postings WHERE entry_id = {entry}",
                      f"DELETE FROM journal_entries WHERE id = {entry}")
    report = seal_check(plat)
    assert not report.ok and report.period == 1, report.detail
    assert report.entry_id == entry, report.detail


def test_changed_release_figures_break_the_seal(sealed: City) -> None:
    plat = sealed.platform
    with plat.engine.begin() as conn:
        conn.execute(text("UPDATE periods SET released_fen = released_fen + 1 WHERE seq = 2"))
    report = seal_check(plat)
    assert not report.ok and report.period == 2 and "release figures" in report.detail


def test_incremental_checks_only_what_changed_since_the_last_seal(sealed: City) -> None:
    plat = sealed.platform
    full, quick = seal_check(plat), seal_check(plat, incremental=True)
    assert full.ok and quick.ok
    assert quick.scanned < full.scanned
    with plat.engine.connect() as conn:
        entry, leg = _order_entry(conn, 1)
    behind_the_guards(plat, f"UPDATE postings SET amount = amount + 1 WHERE entry_id = {entry} "
                            f"AND leg = {leg}")
    assert seal_check(plat, incremental=True).ok  # sealed history is not recomputed
    assert not seal_check(plat).ok
    # an entry written after the last seal that claims a sealed period is caught incrementally
    tail = plat.read(seal_store.max_entry_id)
    behind_the_guards(plat, f"UPDATE journal_entries SET period = 2 WHERE id = {tail}")
    quick = seal_check(plat, incremental=True)
    assert not quick.ok and quick.entry_id == tail, quick.detail
    checks = verify(plat, incremental=True)
    assert "balances agree with the journal" not in [c.name for c in checks]


@pytest.mark.postgres
@pytest.mark.parametrize("dialect", ["postgres"])
def test_sql_and_python_digests_agree(sealed: City, dialect: str) -> None:
    plat = sealed.platform
    sealed.order(12_345)
    with plat.engine.connect() as conn:
        conn.execute(text("INSERT INTO journal_entries (kind, period, leg_count, memo) "
                          "VALUES ('adjustment', 3, 0, '中文 memo | with; marks')"))
        top = seal_store.max_entry_id(conn)
        assert conn.dialect.name == "postgresql"
        in_sql = seals.compute_chunks(stores_on(conn), 1, top)
        in_python = seals.compute_chunks(stores_on(conn), 1, top, python=True)
        conn.rollback()
    assert in_sql and in_sql == in_python
    stored = [c for s in plat.read(seal_store.seals) for c in plat.read(seal_store.stored_chunks, s.period)]
    assert stored  # the stored digests were made by the SQL path: Python recomputes them
    first = plat.read(seal_store.seals)[0]
    recomputed = plat.read(lambda c: seals.compute_chunks(stores_on(c), first.first_id,
                                                          first.last_id, python=True))
    assert recomputed == plat.read(seal_store.stored_chunks, 1)


@pytest.mark.postgres
@pytest.mark.parametrize("dialect", ["postgres"])
def test_a_parallel_scan_gives_each_range_its_chunks_in_order(sealed: City, dialect: str) -> None:
    """The check's scan on several connections yields what one connection computes, range by
    range, in order (the ranges here are narrower than a chunk, so there are several)."""
    plat = sealed.platform
    seal = max(plat.read(seal_store.seals), key=lambda s: s.entries)
    ranges = [(i, i) for i in range(seal.first_id, seal.last_id + 1)]
    assert len(ranges) >= 3
    with plat.engine.connect() as conn:
        one = [seal_store.scan_chunks_sql(conn, seal.first_id, lo, hi) for lo, hi in ranges]
        conn.rollback()
        many = list(seal_store.scan_chunks_parallel(conn, seal.first_id, ranges, 3))
    assert many == one and sum(c.entries for found in many for c in found) == seal.entries


def test_a_database_sealed_after_its_closes_is_sealed_in_order(sealed: City) -> None:
    """Periods closed before seals existed are sealed first, in order (the migration does the same)."""
    plat = sealed.platform
    before = plat.read(seal_store.seals)
    with plat.engine.begin() as conn:
        for sql in ("DROP TRIGGER period_seals_no_delete", "DROP TRIGGER period_seal_chunks_no_delete") \
                if conn.dialect.name == "sqlite" else (
                "DROP TRIGGER period_seals_append_only ON period_seals",
                "DROP TRIGGER period_seal_chunks_append_only ON period_seal_chunks"):
            conn.exec_driver_sql(sql)
        conn.execute(text("DELETE FROM period_seal_chunks"))
        conn.execute(text("DELETE FROM period_seals"))
        seal_store.install_seal_guards(conn)
    assert not seal_check(plat).ok
    plat.run(lambda uow: seals.seal_unsealed(uow))
    assert plat.read(seal_store.seals) == before
    sealed.order(10_000)
    plat.close_period()
    assert seal_check(plat).ok


def test_migration_seals_the_periods_of_an_existing_database(sealed: City) -> None:
    """A database at revision 0014 (before the seals) with closed periods: upgrading creates
    the seal tables, their guards, and the seals of every closed period, the same as the closes made."""
    from gongsheng.adapters.database import migrate

    plat = sealed.platform
    before = plat.read(seal_store.seals)
    with plat.engine.begin() as conn:
        conn.execute(text("DROP TABLE period_seal_chunks"))
        conn.execute(text("DROP TABLE period_seals"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0014'"))
    migrate(plat.engine)
    assert plat.read(seal_store.seals) == before
    assert seal_check(plat).ok
    with pytest.raises(DBAPIError, match="append-only"), plat.engine.begin() as conn:
        conn.execute(text("DELETE FROM period_seals"))


def test_verify_command_full_and_incremental(sealed: City, db_url: str) -> None:
    from typer.testing import CliRunner

    from gongsheng.entrypoints.cli import app

    runner = CliRunner()
    for args in (["verify", "--db", db_url], ["verify", "--db", db_url, "--incremental"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "every closed period matches its seal" in result.output
    with sealed.platform.engine.connect() as conn:
        entry, leg = _order_entry(conn, 1)
    behind_the_guards(sealed.platform, f"UPDATE postings SET amount = amount + 1 "
                                       f"WHERE entry_id = {entry} AND leg = {leg}")
    result = runner.invoke(app, ["verify", "--db", db_url])
    assert result.exit_code == 1
    assert f"first entry {entry}" in result.output + result.stderr
