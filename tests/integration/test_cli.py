"""The command line through Typer's runner: policy check, period close, verify, admin create, bad --db."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gongsheng.adapters.policy_file import default_policy_text, load_policy
from gongsheng.domain.errors import (
    Conflict,
    Forbidden,
    GongshengError,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    InvariantViolation,
    NotFound,
    Unauthorized,
)
from gongsheng.domain.ledger import AccountKind, account_id
from gongsheng.entrypoints.cli import app, exit_code
from gongsheng.services import accounts
from gongsheng.services.platform import Platform
from gongsheng.views.verification import CHECKS

if TYPE_CHECKING:
    from conftest import City

runner = CliRunner()


def write_policy(tmp_path: Path, old: str | None = None, new: str = "") -> Path:
    text_ = default_policy_text()
    if old is not None:
        text_, n = re.subn(old, new, text_, count=1, flags=re.MULTILINE)
        assert n == 1
    path = tmp_path / "policy.toml"
    path.write_text(text_, encoding="utf-8")
    return path


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gongsheng: error: ")
    return lines[0]


def test_policy_check_default(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(write_policy(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    assert "20.00%" in result.stdout and "3.00%" in result.stdout


def test_policy_check_names_the_rate_a_contract_part_cannot_be_paid_at(tmp_path: Path) -> None:
    """A platform fee of 40%: at 3% even the lowest 1% BM rate (a third of C) does not fit."""
    path = write_policy(tmp_path, r'^rate = "0.20"', 'rate = "0.40"')
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code != 0
    line = one_error_line(result.stderr)
    assert "at concession rate 0.03" in line and "0.01" in line


def test_policy_check_refuses_a_policy_whose_fixed_parts_exceed_the_concession(tmp_path: Path) -> None:
    path = write_policy(tmp_path, r'^rate = "0.15"', 'rate = "0.85"')
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code != 0
    line = one_error_line(result.stderr)
    assert "at concession rate 0.03" in line and "partner_dividend" in line


@pytest.mark.parametrize("tail", ["x = " + "[" * 5_000 + "]" * 5_000,
                                  "x = " + "{a = " * 3_000 + "1" + "}" * 3_000,
                                  "#" * 500_000], ids=["arrays", "inline-tables", "oversized"])
def test_policy_check_refuses_a_deep_or_huge_file_in_one_line(tmp_path: Path, tail: str) -> None:
    """A nested file made the TOML parser recurse out of the stack (a 3,000-line traceback)."""
    path = write_policy(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + tail + "\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code != 0, result.output
    line = one_error_line(result.stderr)
    assert str(path) in line and ("deep" in line or "larger than a policy" in line)


def test_policy_check_refuses_multi_level_referral(tmp_path: Path) -> None:
    path = write_policy(tmp_path, r"^levels = 1", "levels = 2")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code != 0
    assert "multi-level" in one_error_line(result.stderr)


def test_period_close(city: City, db_url: str) -> None:
    city.order(100_000)
    result = runner.invoke(app, ["period", "close", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "period 1 closed" in result.stdout
    result = runner.invoke(app, ["period", "close", "--db", db_url])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # rich wraps lines at the runner's width
    assert "period 2 closed" in out and "released 42.50 yuan" in out
    assert city.platform.wallet(city.consumer).vouchers_fen == 2_500


def test_period_close_under_promise_needs_force(db_url: str, tmp_path: Path,
                                                open_platform: Callable[..., Platform]) -> None:
    path = write_policy(tmp_path, r'^controller = "budget"', 'controller = "promise"')
    open_platform(db_url, load_policy(path))
    refused = runner.invoke(app, ["period", "close", "--db", db_url])
    assert refused.exit_code != 0
    assert "promise" in one_error_line(refused.stderr)
    forced = runner.invoke(app, ["period", "close", "--db", db_url, "--force-promise"])
    assert forced.exit_code == 0, forced.output
    assert "period 1 closed" in forced.stdout


def test_verify(city: City, db_url: str) -> None:
    city.order(100_000)
    result = runner.invoke(app, ["verify", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.stdout
    assert sum(line.startswith("ok ") for line in result.stdout.splitlines()) == len(CHECKS)
    with city.platform.engine.begin() as conn:
        conn.execute(text("UPDATE balances SET amount = amount + 1 WHERE account_id = :a"),
                      {"a": account_id(city.merchant, AccountKind.CASH)})
    result = runner.invoke(app, ["verify", "--db", db_url])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout
    assert "every asset sums to zero" in one_error_line(result.stderr)


def test_admin_create(platform: Platform, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHENG_ADMIN_PASSWORD", "correct horse battery")
    result = runner.invoke(app, ["admin", "create", "root", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "admin account 'root' created" in result.stdout
    account = platform.read(accounts.authenticate, "root", "correct horse battery")
    assert (account.role, account.party_id) == ("admin", None)
    again = runner.invoke(app, ["admin", "create", "root", "--db", db_url])
    assert again.exit_code != 0
    assert "taken" in one_error_line(again.stderr)
    monkeypatch.setenv("GONGSHENG_ADMIN_PASSWORD", "short")
    weak = runner.invoke(app, ["admin", "create", "other", "--db", db_url])
    assert weak.exit_code != 0
    assert "password" in one_error_line(weak.stderr)


@pytest.mark.parametrize("url", [
    "nosuchdb://nowhere",
    "sqlite:////nonexistent-dir/sub/gongsheng.db",
    pytest.param("postgresql://postgres@127.0.0.1:5432/gs_test_does_not_exist",
                 marks=pytest.mark.postgres),
])
@pytest.mark.parametrize("command", [["verify"], ["period", "close"]])
def test_bad_db_exits_with_one_line(url: str, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db", url])
    assert result.exit_code not in (0, None)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    one_error_line(result.stderr)



def test_exit_codes_follow_the_kind_of_error(tmp_path: Path, db_url: str) -> None:
    """Bad input 2, conflict 4 (documented in the README): scripts can tell them apart."""
    bad = write_policy(tmp_path, r'^rate = "0.15"', 'rate = "0.85"')
    assert runner.invoke(app, ["policy", "check", str(bad)]).exit_code == 2
    env = {"GONGSHENG_ADMIN_PASSWORD": "a long and unusual passphrase 42"}
    first = runner.invoke(app, ["admin", "create", "ops-lead", "--db", db_url], env=env)
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["admin", "create", "ops-lead", "--db", db_url], env=env)
    assert again.exit_code == 4, again.output
    one_error_line(again.stderr)


@pytest.mark.parametrize(("error", "code"), [
    (InvalidInput("x"), 2), (InsufficientBalance("x"), 2), (NotFound("x"), 3), (Conflict("x"), 4),
    (IdempotencyConflict("x"), 4), (Unauthorized("x"), 5), (Forbidden("x"), 5),
    (InvariantViolation("x"), 6), (GongshengError("x"), 2)])
def test_exit_code_of_each_kind(error: GongshengError, code: int) -> None:
    assert exit_code(error) == code
