"""The backup and restore drill of docs/operations.md, on PostgreSQL.

A small demo city is run through the engine; ``pg_dump -Fc`` backs its database up and
``pg_restore`` loads the backup into a new, empty database. The restored books must pass
``gongsheng verify`` and hold the same trial balance, journal and schema revision as the original.
Debian's client tools are used, whose major version must be the server's.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gongsheng.adapters.database import schema_revisions
from gongsheng.adapters.ledger_store import journal_balances
from gongsheng.entrypoints.cli import app
from gongsheng.entrypoints.demo import DemoConfig, run_demo
from gongsheng.services.platform import Platform
from gongsheng.views.verification import verify

pytestmark = pytest.mark.postgres
PG_DUMP, PG_RESTORE = "/usr/bin/pg_dump", "/usr/bin/pg_restore"


def libpq(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (what pg_dump and pg_restore take)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def major(version_text: str) -> int:
    """The major version in ``pg_dump (PostgreSQL) 15.20 (Debian ...)`` or ``15.20 (Debian ...)``."""
    word = next(w for w in version_text.split() if w[:1].isdigit())
    return int(word.split(".")[0])


@pytest.fixture
def empty_database(pg_admin: Engine, pg_url: str) -> Iterator[Callable[[], str]]:
    """``empty_database()``: a new database with no schema at all (what a restore starts from),
    on the server of ``pg_url``."""
    created: list[str] = []

    def make() -> str:
        name = f"gs_restore_{secrets.token_hex(6)}"
        with pg_admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        created.append(name)
        return f"{pg_url.rsplit('/', 1)[0]}/{name}"

    yield make
    with pg_admin.connect() as conn:
        for name in created:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_client_tools_match_the_server(pg_admin: Engine) -> None:
    assert shutil.which(PG_DUMP) and shutil.which(PG_RESTORE), "install Debian's postgresql-client"
    with pg_admin.connect() as conn:
        server = major(str(conn.execute(text("SHOW server_version")).scalar()))
    for tool in (PG_DUMP, PG_RESTORE):
        out = subprocess.run([tool, "--version"], check=True, capture_output=True, text=True).stdout
        assert major(out) == server, (tool, out, server)


def test_a_demo_backed_up_and_restored_verifies_with_the_same_books(
        pg_url: str, empty_database: Callable[[], str], open_platform: Callable[..., Platform],
        tmp_path: Path) -> None:
    original = open_platform(pg_url)
    result = run_demo(original, DemoConfig(periods=3, consumers=12, merchants=4, seed=11),
                      password="drill-password-1", logins_file=tmp_path / "logins.csv")
    assert result.orders > 0 and len(result.closed) == 3
    books = original.trial_balance()
    journal = original.read(journal_balances)
    assert books and all(check.ok for check in verify(original))

    backup = tmp_path / "gongsheng.dump"
    subprocess.run([PG_DUMP, "-Fc", "--no-owner", "-f", str(backup), libpq(pg_url)], check=True)
    restored_url = empty_database()
    subprocess.run([PG_RESTORE, "--no-owner", "--exit-on-error", "-d", libpq(restored_url),
                    str(backup)], check=True)

    restored = open_platform(restored_url)  # opening migrates: nothing to do on a current backup
    current, head = schema_revisions(restored.engine)
    assert current == head
    checks = verify(restored)
    assert checks and all(check.ok for check in checks), [c for c in checks if not c.ok]
    assert restored.trial_balance() == books
    assert restored.read(journal_balances) == journal
    verified = CliRunner().invoke(app, ["verify", "--db", restored_url])
    assert verified.exit_code == 0, verified.output
