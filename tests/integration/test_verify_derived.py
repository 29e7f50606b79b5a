"""``verify`` compares the rows reports and holds read (per-(party, period) totals, held-cash
earnings) with the history they summarise: a row moved behind the books' back is named.
SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from gongsheng.adapters import tables as t
from gongsheng.views.verification import verify

if TYPE_CHECKING:
    from tests.conftest import City


def _history(city: City, rng: random.Random) -> None:
    for _ in range(rng.randint(3, 8)):
        order = city.order(rng.randint(1_000, 200_000))
        if rng.random() < 0.4:
            city.platform.refund(order.order_id, rng.randint(1, 1_000), city.key("refund"))
    if rng.random() < 0.5:
        city.platform.close_period()
        city.order(rng.randint(1_000, 200_000))


def _failing(city: City) -> dict[str, str]:
    return {c.name: c.detail for c in verify(city.platform) if not c.ok}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sound_books_pass_and_a_moved_row_is_named(city: City, seed: int) -> None:
    rng = random.Random(seed)
    _history(city, rng)
    assert _failing(city) == {}
    e, pt = t.earnings, t.party_period_totals
    with city.platform.engine.begin() as conn:
        party, period, stripe = conn.execute(select(e.c.party_id, e.c.period, e.c.stripe)
                                             .order_by(e.c.party_id).limit(1)).one()
        conn.execute(update(e).where(e.c.party_id == party, e.c.period == period,
                                     e.c.stripe == stripe).values(amount_fen=e.c.amount_fen + 1))
    failing = _failing(city)
    assert set(failing) == {"earnings (holds) agree with the journal"}
    assert f"party {party} period {period}" in failing["earnings (holds) agree with the journal"]
    with city.platform.engine.begin() as conn:
        conn.execute(update(e).where(e.c.party_id == party, e.c.period == period,
                                     e.c.stripe == stripe).values(amount_fen=e.c.amount_fen - 1))
        row = conn.execute(select(pt.c.party_id, pt.c.period, pt.c.name, pt.c.stripe)
                           .where(pt.c.name.startswith("cash:")).order_by(pt.c.party_id)
                           .limit(1)).one()
        conn.execute(update(pt).where(pt.c.party_id == row[0], pt.c.period == row[1],
                                      pt.c.name == row[2], pt.c.stripe == row[3])
                     .values(value=pt.c.value - 7))
    failing = _failing(city)
    assert set(failing) == {"per-(party, period) totals agree with the history"}
    assert f"party {row[0]} period {row[1]} {row[2]}" in failing[
        "per-(party, period) totals agree with the history"]
    incremental = {c.name for c in verify(city.platform, incremental=True)}
    assert "per-(party, period) totals agree with the history" not in incremental


def test_a_started_groups_row_must_hold_its_points(city: City) -> None:
    """A take-back reads a started group's points from its row (the row's lock gives it as the
    last writer left it): verify names a started group whose row disagrees with its stripes."""
    city.order(150_000)
    city.order(90_000)
    for _ in range(2):
        city.platform.close_period()
    assert _failing(city) == {}
    g = t.release_groups
    with city.platform.engine.begin() as conn:
        start, multiple = conn.execute(select(g.c.start_period, g.c.multiple)
                                       .where(g.c.fraction > 0).limit(1)).one()
        conn.execute(update(g).where(g.c.start_period == start, g.c.multiple == multiple)
                     .values(points_cpts=g.c.points_cpts + 1))
    failing = _failing(city)
    assert set(failing) == {"release index agrees with holders"}
    assert f"started group ({start}, '{multiple}') records" in failing[
        "release index agrees with holders"]


ENTRY_CHECK = "every journal entry balances per asset and is complete"
ORDER_CHECK = "every order names a known consumer, merchant and policy version"


@pytest.mark.parametrize("change", ["amount", "asset", "leg gone"])
def test_an_entry_altered_behind_the_guards_is_named_incrementally(city: City, change: str) -> None:
    """An entry written after the last seal that no longer balances per asset, or has lost a
    leg, is named by the full and the incremental check alike."""
    from .test_seals import behind_the_guards

    city.order(100_000)
    city.platform.close_period()
    order = city.order(50_000).order_id
    e = t.journal_entries
    with city.platform.engine.connect() as conn:
        entry = conn.execute(select(e.c.id).where(e.c.kind == "order", e.c.ref_id == order)
                             ).scalar_one()
    sql = {"amount": f"UPDATE postings SET amount = amount + 1 WHERE entry_id = {entry} AND leg = 0",
           "asset": f"UPDATE postings SET asset = 'PTS' WHERE entry_id = {entry} AND asset = 'CNY' "
                    f"AND leg = (SELECT min(leg) FROM postings WHERE entry_id = {entry} "
                    f"AND asset = 'CNY')",
           "leg gone": f"DELETE FROM postings WHERE entry_id = {entry} AND leg = 0"}[change]
    behind_the_guards(city.platform, sql)
    for incremental in (False, True):
        failing = {c.name: c.detail for c in verify(city.platform, incremental=incremental)
                   if not c.ok}
        assert failing.get(ENTRY_CHECK) == f"entry {entry} does not", (incremental, failing)


def test_orders_since_the_last_seal_are_checked_incrementally(city: City) -> None:
    from .test_seals import behind_the_guards

    early = city.order(100_000).order_id
    city.platform.close_period()
    late = city.order(50_000).order_id
    o, e = t.orders, t.journal_entries
    with city.platform.engine.begin() as conn:
        conn.execute(update(o).where(o.c.id == early).values(consumer_id=987_654_321))
    full = {c.name: (c.ok, c.detail) for c in verify(city.platform)}
    assert full[ORDER_CHECK] == (False, f"order {early} does not")
    quick = {c.name: (c.ok, c.detail) for c in verify(city.platform, incremental=True)}
    assert quick[ORDER_CHECK] == (True, "all do")  # sealed history is not re-read
    with city.platform.engine.begin() as conn:
        conn.execute(update(o).where(o.c.id == late).values(merchant_id=987_654_321))
    quick = {c.name: (c.ok, c.detail) for c in verify(city.platform, incremental=True)}
    assert quick[ORDER_CHECK] == (False, f"order {late} does not")
    # an order written since the seal whose entry is gone is still read
    with city.platform.engine.connect() as conn:
        entry = conn.execute(select(e.c.id).where(e.c.kind == "order", e.c.ref_id == late)
                             ).scalar_one()
    behind_the_guards(city.platform, f"DELETE FROM postings WHERE entry_id = {entry}",
                      f"DELETE FROM journal_entries WHERE id = {entry}")
    quick = {c.name: (c.ok, c.detail) for c in verify(city.platform, incremental=True)}
    assert quick[ORDER_CHECK] == (False, f"order {late} does not")


def test_every_kept_row_of_a_key_gone_is_named(city: City) -> None:
    """A key whose kept rows are all gone (kept as zero) disagrees with its history: each
    comparison reads both sides, not only the keys the kept table still has."""
    city.order(100_000)
    city.platform.close_period()
    city.order(40_000)
    b, pt, e = t.balances, t.party_period_totals, t.earnings
    for table, keys, value, check in (
            (b, (b.c.account_id, b.c.asset), b.c.amount, "balances agree with the journal"),
            (pt, (pt.c.party_id, pt.c.period, pt.c.name), pt.c.value,
             "per-(party, period) totals agree with the history"),
            (e, (e.c.party_id, e.c.period), e.c.amount_fen,
             "earnings (holds) agree with the journal")):
        with city.platform.engine.begin() as conn:
            key = conn.execute(select(*keys).where(value > 0).order_by(*keys).limit(1)).one()
            gone = conn.execute(select(table).where(*(k == v for k, v in zip(keys, key, strict=True))
                                                    )).mappings().all()
            conn.execute(table.delete().where(*(k == v for k, v in zip(keys, key, strict=True))))
        failing = _failing(city)
        assert check in failing, (table.name, failing)
        with city.platform.engine.begin() as conn:
            conn.execute(table.insert(), [dict(r) for r in gone])
        assert _failing(city) == {}


def test_an_entry_that_lost_every_leg_is_named(city: City) -> None:
    from .test_seals import behind_the_guards

    if city.platform.engine.dialect.name == "sqlite":
        pytest.skip("SQLite's deferred foreign key keeps every entry's last leg")
    city.order(100_000)
    order = city.order(50_000).order_id
    e = t.journal_entries
    with city.platform.engine.connect() as conn:
        entry = conn.execute(select(e.c.id).where(e.c.kind == "order", e.c.ref_id == order)
                             ).scalar_one()
    behind_the_guards(city.platform, f"DELETE FROM postings WHERE entry_id = {entry}")
    assert _failing(city)[ENTRY_CHECK] == f"entry {entry} does not"
