"""Accounts on SQLite and PostgreSQL: look-alike names, sessions that end, demo passwords, the
database's identity, parameters kept out of errors, and migration 0007 on an older database."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from gongsheng.adapters import tables as t
from gongsheng.adapters.database import alembic_config, make_engine, migrate
from gongsheng.domain.errors import AlreadyHeld, Conflict, InvalidInput, Unauthorized
from gongsheng.entrypoints.cli import app
from gongsheng.entrypoints.demo import write_logins
from gongsheng.services import accounts
from gongsheng.services.platform import Platform

if TYPE_CHECKING:
    from conftest import City

PASSWORD = "correct-horse-battery"
runner = CliRunner()


def test_names_that_read_the_same_are_one_name(platform: Platform) -> None:
    first = platform.run(accounts.create_account, "admin", PASSWORD, "admin")
    assert first.username == "admin"
    for look_alike in ("Admin", "ADMIN", "ａdmin", " admin"):
        with pytest.raises(AlreadyHeld, match="taken"):
            platform.run(accounts.create_account, look_alike, PASSWORD, "admin")
    for refused in ("аdmin", "ad\u200bmin", "adm\u202ein"):  # Cyrillic а, zero-width, RTL override
        with pytest.raises(InvalidInput, match="username"):
            platform.run(accounts.create_account, refused, PASSWORD, "admin")
    platform.run(accounts.create_account, "cop", PASSWORD, "admin")
    with pytest.raises(AlreadyHeld):
        platform.run(accounts.create_account, "сор", PASSWORD, "admin")  # all Cyrillic
    # sign-in finds the account by the same key: case and width do not matter
    assert platform.read(accounts.authenticate, "ＡＤＭＩＮ", PASSWORD).id == first.id
    # and the database itself refuses a second account with the key
    with pytest.raises(IntegrityError), platform.engine.begin() as conn:
        conn.execute(insert(t.users).values(username="Admin2", username_key="admin",
                                            password_hash="x", role="admin"))


def test_weak_passwords_are_refused_everywhere(platform: Platform) -> None:
    for weak in (" " * 8, "password", "qwerty123456", "mallory-the-great"):
        with pytest.raises(InvalidInput, match="password"):
            platform.run(accounts.create_account, "mallory", weak, "admin")
    account = platform.run(accounts.create_account, "mallory", PASSWORD, "admin")
    with pytest.raises(InvalidInput, match="common"):
        platform.run(accounts.change_password, account.id, PASSWORD, "1q2w3e4r5t6y")


def test_sign_out_password_change_and_disabling_end_sessions(platform: Platform) -> None:
    account = platform.run(accounts.create_account, "root", PASSWORD, "admin")
    platform.read(accounts.check_session, account.id, account.generation)
    platform.run(accounts.end_sessions, account.id)
    with pytest.raises(Unauthorized, match="ended"):
        platform.read(accounts.check_session, account.id, account.generation)
    signed_in = platform.read(accounts.authenticate, "root", PASSWORD)
    assert signed_in.generation == account.generation + 1
    platform.read(accounts.check_session, signed_in.id, signed_in.generation)

    with pytest.raises(Unauthorized, match="current password"):
        platform.run(accounts.change_password, signed_in.id, "wrong-password!", "another-good-phrase")
    platform.run(accounts.change_password, signed_in.id, PASSWORD, "another-good-phrase")
    with pytest.raises(Unauthorized, match="ended"):
        platform.read(accounts.check_session, signed_in.id, signed_in.generation)
    with pytest.raises(Unauthorized, match="wrong password"):
        platform.read(accounts.authenticate, "root", PASSWORD)
    current = platform.read(accounts.authenticate, "root", "another-good-phrase")

    other = platform.run(accounts.create_account, "ops", PASSWORD, "admin")
    with pytest.raises(Conflict, match="your own"):
        platform.run(accounts.set_disabled, "root", True, by=current.id)
    platform.run(accounts.set_disabled, "root", True, by=other.id)
    with pytest.raises(Unauthorized, match="ended"):
        platform.read(accounts.check_session, current.id, current.generation)
    with pytest.raises(Unauthorized, match="disabled"):
        platform.read(accounts.authenticate, "root", "another-good-phrase")
    platform.run(accounts.set_disabled, "root", False)
    assert platform.read(accounts.authenticate, "root", "another-good-phrase").id == current.id


def test_each_database_has_its_own_stable_identity(dialect: str, new_database: Callable[[str], str],
                                                   open_platform: Callable[..., Platform]) -> None:
    one, two = open_platform(new_database(dialect)), open_platform(new_database(dialect))
    first = one.run(accounts.database_id)
    assert len(first) == 32
    assert one.run(accounts.database_id) == first
    assert two.run(accounts.database_id) != first


def test_demo_logins_each_get_their_own_password(city: City, tmp_path: Path) -> None:
    plat = city.platform
    logins = tmp_path / "logins.csv"
    created = write_logins(plat, None, logins)
    with logins.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert created == len(rows) == 8  # the city's 7 parties and the admin
    passwords = [r["password"] for r in rows]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 16 for p in passwords)
    for row in rows:
        assert plat.read(accounts.authenticate, row["username"], row["password"]).role == row["role"]
    admin = next(r for r in rows if r["role"] == "admin")
    consumer = next(r for r in rows if r["role"] == "consumer")
    with pytest.raises(Unauthorized):
        plat.read(accounts.authenticate, "admin", consumer["password"])
    # a re-run keeps every password
    assert write_logins(plat, None, logins) == 0
    with logins.open(newline="", encoding="utf-8") as f:
        assert [r["password"] for r in csv.DictReader(f)] == passwords

    # logins made by an earlier demo all shared one hash: a re-run gives each its own
    with plat.engine.begin() as conn:
        shared = conn.execute(select(t.users.c.password_hash).where(t.users.c.username == "admin")).scalar()
        conn.execute(t.users.update().where(t.users.c.demo).values(password_hash=shared))
    write_logins(plat, None, logins)
    with logins.open(newline="", encoding="utf-8") as f:
        renewed = {r["username"]: r["password"] for r in csv.DictReader(f)}
    assert renewed["admin"] == admin["password"]
    assert len(set(renewed.values())) == len(renewed)
    for name, password in renewed.items():
        plat.read(accounts.authenticate, name, password)
    with pytest.raises(Unauthorized):
        plat.read(accounts.authenticate, consumer["username"], admin["password"])


def test_errors_and_logs_carry_no_parameters(db_url: str, platform: Platform,
                                             caplog: pytest.LogCaptureFixture) -> None:
    platform.run(accounts.create_account, "root", PASSWORD, "admin")
    secret_hash = "$argon2id$secret-hash-value"
    engine = make_engine(db_url, echo=True)
    try:
        with pytest.raises(IntegrityError) as err, engine.begin() as conn:
            conn.execute(insert(t.users).values(username="root", username_key="root-key-xyz",
                                                password_hash=secret_hash, role="admin"))
    finally:
        engine.dispose()
    assert "INSERT INTO users" in str(err.value)
    assert secret_hash not in str(err.value) and "root-key-xyz" not in str(err.value)
    assert "hidden due to hide_parameters" in str(err.value)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO users" in logged and secret_hash not in logged


def test_cli_sets_passwords_and_disables_accounts(platform: Platform, db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    account = platform.run(accounts.create_account, "root", PASSWORD, "admin")
    monkeypatch.setenv("GONGSHENG_ADMIN_PASSWORD", "a-new-long-phrase")
    result = runner.invoke(app, ["admin", "password", "root", "--db", db_url])
    assert result.exit_code == 0, result.output
    with pytest.raises(Unauthorized):
        platform.read(accounts.check_session, account.id, account.generation)
    platform.read(accounts.authenticate, "root", "a-new-long-phrase")
    monkeypatch.setenv("GONGSHENG_ADMIN_PASSWORD", "password")
    weak = runner.invoke(app, ["admin", "password", "root", "--db", db_url])
    assert weak.exit_code != 0 and "password" in weak.stderr
    assert runner.invoke(app, ["admin", "disable", "root", "--db", db_url]).exit_code == 0
    with pytest.raises(Unauthorized, match="disabled"):
        platform.read(accounts.authenticate, "root", "a-new-long-phrase")
    assert runner.invoke(app, ["admin", "enable", "root", "--db", db_url]).exit_code == 0
    platform.read(accounts.authenticate, "root", "a-new-long-phrase")
    missing = runner.invoke(app, ["admin", "disable", "nobody", "--db", db_url])
    assert missing.exit_code != 0 and "no account" in missing.stderr


def test_migration_0007_keys_existing_accounts(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        with engine.begin() as conn:
            assert "username_key" not in {c["name"] for c in inspect(conn).get_columns("users")}
            for name in ("Root", "root", "ops"):  # two that fold to one key, made before 0007
                conn.execute(text("INSERT INTO users (username, password_hash, role) "
                                  "VALUES (:u, 'x', 'admin')"), {"u": name})
        migrate(engine)
        with engine.connect() as conn:
            keys = dict(conn.execute(select(t.users.c.username, t.users.c.username_key)).all())
            generations = set(conn.execute(select(t.users.c.session_generation)).scalars())
        assert keys["Root"] == "root" and keys["ops"] == "ops"
        assert keys["root"].startswith("root#")  # the later one keeps signing in by its exact name
        assert generations == {0}
    finally:
        engine.dispose()
