"""``gongsheng demo`` at a small size on SQLite and PostgreSQL, then ``gongsheng verify`` passes.

Also: a re-run continues the same city for more periods; the logins file and the HTML report
are written; a database not made by demo is refused.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongsheng.entrypoints.cli import app

runner = CliRunner()


def gongsheng(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def verify(url: str) -> str:
    """``gongsheng verify`` in its own process (as a user runs it)."""
    done = subprocess.run([sys.executable, "-m", "gongsheng", "verify", "--db", url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_demo_then_verify(dialect: str, new_database: Callable[[str], str], tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = new_database(dialect)
    env = {"GONGSHENG_DEMO_PASSWORD": "demo-password-1"}
    report = tmp_path / "report.html"
    shown = gongsheng("demo", "--db", url, "--periods", "3", "--consumers", "12", "--merchants", "6",
                      "--seed", "3", "--out", str(report), env=env)
    assert "built the city and ran 3 periods" in shown
    assert "<table>" in report.read_text("utf-8")
    logins = next(tmp_path.glob("*logins.csv"))
    with logins.open(newline="") as f:
        rows = list(csv.DictReader(f))
    roles = {r["role"] for r in rows}
    assert roles == {"admin", "consumer", "merchant", "bm", "partner", "promoter"}
    passwords = {r["username"]: r["password"] for r in rows}
    assert passwords["admin"] == "demo-password-1"  # the setting is the admin's password
    assert len(set(passwords.values())) == len(passwords)  # every login has its own
    assert "every asset sums to zero" in verify(url)
    again = gongsheng("demo", "--db", url, "--periods", "1", "--consumers", "12", "--merchants", "6",
                      "--seed", "3", "--out", str(report), env=env)
    assert "continued for 1 periods" in again
    verify(url)


def test_demo_refuses_a_database_it_did_not_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'own.db'}"
    from gongsheng.services.platform import Platform

    plat = Platform.open(url)
    plat.business_manager("Someone")
    plat.engine.dispose()
    result = runner.invoke(app, ["demo", "--db", url, "--periods", "1"])
    assert result.exit_code != 0
    assert "not made by 'gongsheng demo'" in result.output + str(getattr(result, "stderr", ""))
