"""Storage errors reach the services as domain errors, translated once in the adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gongsheng.adapters import ledger_store
from gongsheng.adapters import tables as t
from gongsheng.domain.errors import AlreadyHeld, CodeTaken, DuplicateRequest, InsufficientBalance
from gongsheng.domain.ledger import (
    AccountKind,
    Asset,
    EntryKind,
    JournalEntry,
    account_id,
    system_account,
)
from gongsheng.services import registry
from gongsheng.views import directory

if TYPE_CHECKING:
    from conftest import City


def test_a_second_row_under_an_idempotency_key_is_a_duplicate_request(city: City) -> None:
    city.order(1_000, key="same")
    with city.platform.engine.connect() as conn:
        row = conn.execute(select(t.orders).where(t.orders.c.idem_key == "same")).mappings().one()
        copy = {k: v for k, v in row.items() if k not in ("id", "created_at")}
        with pytest.raises(DuplicateRequest):
            conn.execute(insert(t.orders), copy)


def test_a_second_active_partner_of_a_region_is_already_held(city: City) -> None:
    with city.platform.engine.connect() as conn, pytest.raises(AlreadyHeld):
        other = conn.execute(insert(t.parties).returning(t.parties.c.id),
                             {"kind": "partner", "name": "second"}).scalar_one()
        conn.execute(insert(t.partners), {"party_id": other, "region_id": city.region,
                                          "investment_fen": 0, "term_start": 1,
                                          "active": True})


def test_other_integrity_errors_stay_database_errors(city: City) -> None:
    with city.platform.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(insert(t.partners), {"party_id": city.partner, "region_id": city.region,
                                          "investment_fen": -1, "term_start": 1, "active": False})


def _code_of(city: City, consumer: int) -> str:
    with city.platform.engine.connect() as conn:
        return str(conn.execute(select(t.consumers.c.referral_code)
                                .where(t.consumers.c.party_id == consumer)).scalar_one())


def test_a_referral_code_drawn_twice_is_a_code_taken(city: City) -> None:
    taken = _code_of(city, city.referrer)
    with city.platform.engine.connect() as conn, pytest.raises(CodeTaken):
        party = conn.execute(insert(t.parties).returning(t.parties.c.id),
                             {"kind": "consumer", "name": "twin"}).scalar_one()
        conn.execute(insert(t.consumers), {"party_id": party, "referral_code": taken})


def test_a_consumer_whose_code_was_drawn_before_gets_another(
        city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _code_of(city, city.referrer)
    draws = iter([taken, taken, "FRESHCODE1"])
    monkeypatch.setattr(registry, "new_referral_code", lambda: next(draws))
    consumer = city.platform.consumer("drawn twice")
    assert _code_of(city, consumer) == "FRESHCODE1"
    monkeypatch.setattr(registry, "new_referral_code", lambda: taken)
    with pytest.raises(CodeTaken):  # every draw taken: refused, nothing registered
        city.platform.consumer("never lucky")
    assert city.platform.read(lambda c: directory.parties(c, q="never lucky")).items == []


def test_a_take_below_zero_from_a_non_negative_balance_is_insufficient(city: City) -> None:
    city.order(10_000)
    b = t.balances
    with city.platform.engine.connect() as conn, pytest.raises(InsufficientBalance):
        row = conn.execute(select(b).where(b.c.nonneg, b.c.amount > 0).limit(1)).one()
        conn.execute(update(b).where(b.c.account_id == row.account_id, b.c.asset == row.asset,
                                     b.c.stripe == row.stripe).values(amount=-1))


def test_other_check_violations_stay_database_errors(city: City) -> None:
    with city.platform.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(update(t.consumers).where(t.consumers.c.party_id == city.consumer)
                     .values(referrer_id=city.consumer))  # a consumer referring itself


def _vouchers(conn: Connection, party: int) -> int:
    return ledger_store.balance(conn, account_id(party, AccountKind.VOUCHERS), Asset.VCH)


def _spend(parties: list[int], fen: int) -> JournalEntry:
    """Vouchers of ``parties`` redeemed, ``fen`` each (one taking per party)."""
    legs = [(account_id(p, AccountKind.VOUCHERS), Asset.VCH, -fen) for p in parties]
    legs.append((system_account(AccountKind.VOUCHERS_REDEEMED), Asset.VCH, fen * len(parties)))
    entry = JournalEntry.build(EntryKind.ADJUSTMENT, legs)
    assert entry is not None
    return entry


@pytest.mark.parametrize("parties", [1, 2], ids=["one taking", "two takings"])
def test_takings_move_what_the_balance_covers_and_refuse_the_rest(city: City, parties: int) -> None:
    """An entry's takings (one or two, in its one statement on PostgreSQL): a covered taking
    moves the balance; an uncovered one, or one from an account that never held anything, is
    refused, names that account and not one that covered its taking, and nothing posts."""
    holders = [city.consumer, city.merchant][:parties]
    engine = city.platform.engine
    with engine.begin() as conn:  # 300 fen of vouchers to the first holder only
        fund = JournalEntry.build(EntryKind.ADJUSTMENT, [
            (account_id(holders[0], AccountKind.VOUCHERS), Asset.VCH, 300),
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -300)])
        assert fund is not None
        ledger_store.post(conn, fund, 1)
        before = (conn.execute(select(func.count()).select_from(t.journal_entries)).scalar_one(),
                  [_vouchers(conn, p) for p in holders])
    with engine.connect() as conn:
        assert _vouchers(conn, city.merchant) == 0
    overs = [(holders[:1], 301), ([city.merchant], 1)] + ([(holders, 100)] if parties == 2 else [])
    for spenders, fen in overs:  # too much, or from the holder that holds nothing
        with pytest.raises(InsufficientBalance, match="holds less than") as refused, \
                engine.begin() as conn:
            ledger_store.post(conn, _spend(spenders, fen), 1)
        if len(spenders) == 2:  # the first covers its 100, the merchant holds nothing
            assert f"party:{city.merchant}:" in str(refused.value)
            assert f"party:{city.consumer}:" not in str(refused.value)
        with engine.connect() as conn:
            assert (conn.execute(select(func.count()).select_from(t.journal_entries)).scalar_one(),
                    [_vouchers(conn, p) for p in holders]) == before
    with engine.begin() as conn:
        ledger_store.post(conn, _spend(holders[:1], 120), 1)
    with engine.connect() as conn:
        assert _vouchers(conn, holders[0]) == 180
