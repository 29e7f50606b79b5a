"""The database's own guards on the journal, and ``verify`` catching corruption done behind its back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gongsheng.domain.ledger import AccountKind, account_id, system_account
from gongsheng.views.verification import verify

from .helpers import assert_verified, snapshot

if TYPE_CHECKING:
    from conftest import City


def _entry(conn: Connection, legs: list[tuple[int, str, int]], leg_count: int | None = None) -> int:
    """Write an entry and its legs with raw SQL, one statement per leg."""
    entry_id = conn.execute(text(
        "INSERT INTO journal_entries (kind, period, leg_count, memo) "
        "VALUES ('adjustment', 1, :n, 'raw') RETURNING id"),
        {"n": len(legs) if leg_count is None else leg_count}).scalar_one()
    for leg, (account, asset, amount) in enumerate(legs):
        conn.execute(text("INSERT INTO postings (entry_id, leg, account_id, asset, amount) "
                          "VALUES (:e, :l, :a, :s, :v)"),
                     {"e": entry_id, "l": leg, "a": account, "s": asset, "v": amount})
    return int(entry_id)


@pytest.fixture
def booked(city: City) -> City:
    city.order(100_000)
    city.platform.close_period()
    city.platform.close_period()
    city.platform.wallet(city.consumer)
    return city


def test_unbalanced_entry_is_refused(booked: City) -> None:
    plat = booked.platform
    before = snapshot(plat)
    cash = account_id(booked.merchant, AccountKind.CASH)
    pool = system_account(AccountKind.POOL_AVAILABLE)
    with pytest.raises(DBAPIError, match="does not balance"), plat.engine.begin() as conn:
        _entry(conn, [(cash, "CNY", 100), (pool, "CNY", -99)])
    with pytest.raises(DBAPIError, match="does not balance"), plat.engine.begin() as conn:
        _entry(conn, [(cash, "CNY", 100), (pool, "CNY", -100), (cash, "PTS", 1),
                      (pool, "PTS", -2)])
    assert snapshot(plat) == before
    assert_verified(plat)


def test_legs_outside_an_entry_are_refused(booked: City) -> None:
    plat = booked.platform
    before = snapshot(plat)
    cash = account_id(booked.merchant, AccountKind.CASH)
    with pytest.raises(DBAPIError, match="declared legs"), plat.engine.begin() as conn:
        conn.execute(text("INSERT INTO postings (entry_id, leg, account_id, asset, amount) "
                          "VALUES (1, 99, :a, 'CNY', 5)"), {"a": cash})
    with pytest.raises(DBAPIError, match=r"declared legs|foreign key"), plat.engine.begin() as conn:
        conn.execute(text("INSERT INTO postings (entry_id, leg, account_id, asset, amount) "
                          "VALUES (999999, 0, :a, 'CNY', 5)"), {"a": cash})
    assert snapshot(plat) == before
    assert_verified(plat)


def test_incomplete_entry_is_refused(booked: City, dialect: str) -> None:
    """An entry missing legs cannot be committed: PostgreSQL's constraint trigger checks it at
    commit; on SQLite a deferred foreign key to the entry's last leg does."""
    plat = booked.platform
    cash = account_id(booked.merchant, AccountKind.CASH)
    pool = system_account(AccountKind.POOL_AVAILABLE)
    legs = [(cash, "CNY", 100), (pool, "CNY", -100)]
    before = snapshot(plat)
    refusal = "has 2 postings, declares 3" if dialect == "postgres" else "FOREIGN KEY constraint"
    with pytest.raises(DBAPIError, match=refusal), plat.engine.begin() as conn:
        _entry(conn, legs, leg_count=3)
    assert snapshot(plat) == before
    assert_verified(plat)


@pytest.mark.parametrize("sql", [
    "UPDATE postings SET amount = amount + 1 WHERE entry_id = 1",
    "UPDATE postings SET account_id = 64 + 5",
    "DELETE FROM postings WHERE entry_id = 1",
    "DELETE FROM postings",
    "UPDATE journal_entries SET leg_count = 1 WHERE id = 1",
    "DELETE FROM journal_entries WHERE id = 1",
])
def test_journal_is_append_only(booked: City, sql: str) -> None:
    plat = booked.platform
    before = snapshot(plat)
    with pytest.raises(DBAPIError, match="append-only"), plat.engine.begin() as conn:
        conn.execute(text(sql))
    assert snapshot(plat) == before
    assert_verified(plat)


CORRUPTIONS = {
    # one fen appears in a balance row: the books no longer sum to zero
    "balance row off by one fen": (
        lambda c: f"UPDATE balances SET amount = amount + 1 "
                  f"WHERE account_id = {account_id(c.merchant, AccountKind.CASH)}",
        "every asset sums to zero"),
    # one fen moved between two balance rows: sums hold, the journal disagrees
    "fen moved between balance rows": (
        lambda c: f"UPDATE balances SET amount = amount + "
                  f"(CASE WHEN account_id = {account_id(c.merchant, AccountKind.CASH)} THEN -1 ELSE 1 END) "
                  f"WHERE account_id IN ({account_id(c.merchant, AccountKind.CASH)}, "
                  f"{account_id(c.home, AccountKind.CASH)})",
        "balances agree with the journal"),
    # a holder's checkpoint says more was settled than its group released
    "holding settled beyond its release": (
        lambda c: f"UPDATE holdings SET settled_fen = settled_fen + 1000000 "
                  f"WHERE holder_id = {c.consumer}",
        "release index agrees with holders"),
    # orders carry no foreign keys: an order naming an unknown consumer is reported
    "order naming an unknown consumer": (
        lambda c: "UPDATE orders SET consumer_id = 987654321",
        "every order names a known consumer, merchant and policy version"),
    # the group index moved without its points
    "release group issued off": (
        lambda c: "UPDATE release_groups SET issued_fen = issued_fen + 1",
        "release index agrees with holders"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_verify_names_the_check_a_corruption_breaks(booked: City, case: str) -> None:
    plat = booked.platform
    assert_verified(plat)
    make_sql, check = CORRUPTIONS[case]
    with plat.engine.begin() as conn:
        conn.execute(text(make_sql(booked)))
    failed = [c for c in verify(plat) if not c.ok]
    assert failed, "verify passed corrupted books"
    assert check in [c.name for c in failed]
    assert all(c.detail for c in failed)
