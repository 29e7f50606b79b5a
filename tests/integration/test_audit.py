"""The audit log in the database: append-only under triggers, written only with its action's
commit, by the actor the entry point names, and paged without repeats or gaps (SQLite and
PostgreSQL)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from gongsheng.adapters.database import make_engine, migrate
from gongsheng.domain.audit import Actor
from gongsheng.entrypoints.cli import app
from gongsheng.services import accounts, registry
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork
from gongsheng.views import audit

from .helpers import count_rows

if TYPE_CHECKING:
    from conftest import City

from gongsheng.adapters import tables as t

runner = CliRunner()


def _records(plat: Platform, **where: str) -> list[dict[str, object]]:
    page = plat.read(lambda c: audit.audit_log(c, audit.AuditFilter(**where), None, audit.MAX_PAGE))
    return page.items


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'",
                                       "UPDATE audit_log SET changes = '{}' WHERE id = 1",
                                       "DELETE FROM audit_log", "DELETE FROM audit_log WHERE id = 1"])
def test_a_record_cannot_be_updated_or_deleted(city: City, statement: str) -> None:
    plat = city.platform
    plat.as_actor(Actor("ops")).region("Suzhou")
    before = _records(plat)
    assert before and before[0]["actor"] == "ops"
    with pytest.raises(DBAPIError, match="append-only"), plat.engine.begin() as conn:
        conn.execute(text(statement))
    assert _records(plat) == before


def test_truncate_is_refused_on_postgres(city: City) -> None:
    plat = city.platform
    if plat.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(DBAPIError, match="append-only"), plat.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))
    assert _records(plat)


def test_a_rolled_back_action_leaves_no_record(city: City) -> None:
    plat = city.platform.as_actor(Actor("ops", "req-1"))
    before = count_rows(plat, t.audit_log)

    def fails_after_acting(uow: UnitOfWork) -> None:
        registry.create_business_manager(uow, "BM Doomed")  # records party.registered
        uow.audit("test.extra", "party:0")
        assert uow.audits  # buffered, not yet written
        raise RuntimeError("the use case fails after acting")

    with pytest.raises(RuntimeError):
        plat.run(fails_after_acting)
    with UnitOfWork(plat.engine, actor=Actor("ops")) as uow:  # left without commit
        registry.create_region(uow, "Never")
    assert count_rows(plat, t.audit_log) == before
    assert not [r for r in _records(plat) if r["actor"] == "ops"]


def test_the_actor_and_request_flow_into_the_record(city: City) -> None:
    plat = city.platform
    acting = plat.as_actor(Actor("ops", "req-42"))
    assert acting.engine is plat.engine and plat.actor.name == "system"
    bm = acting.business_manager("BM Audited")
    [record] = _records(plat, target=f"party:{bm}")
    assert (record["actor"], record["request_id"], record["action"]) == ("ops", "req-42",
                                                                         "party.registered")
    assert record["changes"] == {"kind": "bm", "name": "BM Audited"}
    city.order(100_000)
    plat.as_actor(Actor.api_key(7)).close_period(force_promise=False)
    [closed] = _records(plat, action="period.closed")
    assert closed["actor"] == "apikey:7" and closed["target"] == "period:1"


def test_the_command_line_acts_as_its_os_user(city: City, db_url: str) -> None:
    city.order(100_000)
    closed = runner.invoke(app, ["period", "close", "--db", db_url])
    assert closed.exit_code == 0, closed.output
    me = f"cli:{getpass.getuser()}"
    [record] = _records(city.platform, action="period.closed")
    assert record["actor"] == me and record["request_id"] is None
    city.platform.run(accounts.create_account, "ops", "a-long-password-1", "admin")
    assert runner.invoke(app, ["admin", "disable", "ops", "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["admin", "enable", "ops", "--db", db_url]).exit_code == 0
    actions = [(r["action"], r["actor"]) for r in _records(city.platform, target="account:ops")]
    assert actions == [("account.enabled", me), ("account.disabled", me),
                       ("account.created", "system")]


_examples = iter(range(10**6))


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 25), size=st.integers(1, 7), added=st.integers(0, 5))
def test_paging_never_repeats_or_skips(city: City, count: int, size: int, added: int) -> None:
    name = f"pager-{next(_examples)}"  # each example walks its own records
    plat = city.platform.as_actor(Actor(name))

    def add(n: int) -> None:
        def use_case(uow: UnitOfWork) -> None:
            for i in range(n):
                uow.audit("test.paged", f"item:{i}", {"i": i})
        plat.run(use_case)

    add(count)
    where = audit.AuditFilter(actor=name)
    existing = [r["id"] for r in _records(plat, actor=name)]
    assert len(existing) == count
    walked: list[object] = []
    cursor: str | None = None
    first = True
    while first or cursor is not None:
        page = plat.read(lambda c, cur=cursor: audit.audit_log(c, where, cur, size))
        assert len(page.items) <= size
        walked += [r["id"] for r in page.items]
        cursor, first = page.next_cursor, False
        if added:
            add(added)  # records written while the walk goes on are newer: not in this walk
            added = 0
    assert walked == existing  # every record there when the walk began, once, newest first
    assert len(set(walked)) == len(walked)


def _before_0015() -> str:
    """The revision 0015 follows (whatever the chain is once branches are merged)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from gongsheng.adapters.database import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    down = ScriptDirectory.from_config(cfg).get_revision("0015").down_revision
    assert isinstance(down, str)
    return down


def test_the_migration_adds_the_table_and_its_guards_to_an_older_database(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.begin() as conn:  # back to the database as it was before 0015
            conn.execute(text("DROP TABLE audit_log"))
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": _before_0015()})
        assert not inspect(engine).has_table("audit_log")
        migrate(engine)
        assert inspect(engine).has_table("audit_log")
        migrate(engine)  # repeatable
        Platform(engine, Actor("ops")).region("Wuxi")
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    finally:
        engine.dispose()
