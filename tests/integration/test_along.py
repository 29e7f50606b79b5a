"""Writes that join a journal entry's statement (``ledger_store.post``'s ``along``), both dialects.

A take-back lowers a holding's points to as little as 0 (its ``CHECK``'s bound) in the same write
as its entry: a keyed update (:class:`SetRow`), which never proposes a row, does that where an
additive upsert could not (a proposed row is checked before its conflict is seen).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows, SetRow
from gongsheng.adapters.ledger_store import post
from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.services.books import open_books

HOLDER = 1  # the platform's own party: there in every new book
KEY = (("holder_id", HOLDER), ("start_period", 5), ("multiple", "2"))
GROUP = (("start_period", 5), ("multiple", "2"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_books(db_url)
    with engine.begin() as conn:
        AddRows(t.holdings, ("holder_id", "start_period", "multiple"), ("points_cpts", "settled_fen"),
                ((HOLDER, 5, "2", 300, 40),)).write(conn)
        conn.execute(t.release_groups.insert(), {"start_period": 5, "multiple": "2", "fraction": 10,
                                                 "issued_fen": 100, "points_cpts": 300})
    yield engine
    engine.dispose()


def _open_period(conn: Connection) -> int:
    return int(conn.execute(select(t.periods.c.seq).where(t.periods.c.status == "open")).scalar_one())


def _entry(*legs: tuple[AccountKind, int]) -> JournalEntry:
    entry = JournalEntry.build(EntryKind.CLAWBACK,
                               [(system_account(k), k.asset, v) for k, v in legs], "test")
    assert entry is not None
    return entry


def _state(conn: Connection) -> tuple[object, ...]:
    h, g = t.holdings.c, t.release_groups.c
    holding = conn.execute(select(h.points_cpts, h.settled_fen).where(
        h.holder_id == HOLDER, h.start_period == 5, h.multiple == "2")).one()
    group = conn.execute(select(g.fraction, g.issued_fen, g.points_cpts).where(
        g.start_period == 5, g.multiple == "2")).one()
    points = conn.execute(select(t.group_points.c.points_cpts).where(
        t.group_points.c.start_period == 5)).scalars().all()
    return tuple(holding), tuple(group), sorted(points)


def test_keyed_updates_join_the_entry_down_to_the_check_bound(engine: Engine) -> None:
    with engine.begin() as conn:
        entry_id = post(conn, _entry((AccountKind.POOL_RESERVED, -50), (AccountKind.POOL_AVAILABLE, 50)),
                        _open_period(conn), HOLDER, along=[
            SetRow(t.holdings, KEY, adds=(("points_cpts", -300),), sets=(("settled_fen", 0),)),
            SetRow(t.release_groups, GROUP, sets=(("issued_fen", 7), ("points_cpts", 0))),
            AddRows(t.group_points, ("start_period", "multiple", "stripe"), ("points_cpts",),
                    ((5, "2", 3, -300),))])
    with engine.connect() as conn:
        assert _state(conn) == ((0, 0), (10, 7, 0), [-300])
        legs = conn.execute(select(t.postings.c.account_id, t.postings.c.amount).where(
            t.postings.c.entry_id == entry_id)).all()
    assert sorted(legs) == sorted([(system_account(AccountKind.POOL_RESERVED), -50),
                                   (system_account(AccountKind.POOL_AVAILABLE), 50)])


def test_a_refused_entry_takes_its_updates_down_with_it(engine: Engine) -> None:
    with engine.connect() as conn:
        before = _state(conn)
    with pytest.raises(InsufficientBalance), engine.begin() as conn:
        # the platform holds no vouchers: the taking is refused, the whole write rolled back
        entry = JournalEntry.build(EntryKind.CLAWBACK, [
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, 5),
            (account_id(HOLDER, AccountKind.VOUCHERS), Asset.VCH, -5)], "test")
        assert entry is not None
        post(conn, entry, _open_period(conn), HOLDER, along=[
            SetRow(t.holdings, KEY, adds=(("points_cpts", -100),), sets=(("settled_fen", 1),))])
    with engine.connect() as conn:
        assert _state(conn) == before == ((300, 40), (10, 100, 300), [])
