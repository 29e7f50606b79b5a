"""The books' own bookkeeping on both dialects: close keys, referral codes, the policy cache, and
read-only transactions.

- a period-close key reused with another request is a conflict (it answered with the summary of
  the period the key had closed);
- referral codes were 32 random bits with no retry: at 100,000 consumers a registration failed
  on the unique index about two runs in three; a repeated code is now drawn again;
- the parsed policies were cached per URL, so a database made again at the same URL was read
  with the old database's policy;
- on SQLite every transaction took the write lock, so one reader waited for another.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.adapters.policy_store import policy_version
from gongsheng.domain.errors import IdempotencyConflict, NotFound
from gongsheng.services import registry
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from conftest import City


# --- period-close keys ----------------------------------------------------------------------

def test_a_close_key_replays_its_own_request_and_refuses_another(city: City) -> None:
    plat = city.platform
    city.order(100_000)
    first = plat.close_period(1, key="close-1")
    assert first.period == 1 and not first.already_closed
    again = plat.close_period(1, key="close-1")
    assert again.already_closed and again.period == 1 and again.released_fen == first.released_fen
    for other in (2, None):
        with pytest.raises(IdempotencyConflict, match="close-1"):
            plat.close_period(other, key="close-1")
    with pytest.raises(IdempotencyConflict):
        plat.close_period(1, key="close-1", force_promise=True)
    assert plat.close_period(key="close-2").period == 2
    with pytest.raises(IdempotencyConflict):
        plat.close_period(3, key="close-2")
    with plat.engine.connect() as conn:
        assert conn.execute(select(t.periods.c.seq).where(t.periods.c.status == "open")
                            ).scalar_one() == 3


def test_a_close_key_stored_before_requests_were_hashed_compares_the_period(city: City) -> None:
    plat = city.platform
    plat.close_period(key="old-key")
    with plat.engine.begin() as conn:  # as revision 0008 leaves a key written before it
        conn.execute(t.close_requests.update().values(request_hash=None))
    assert plat.close_period(key="old-key").period == 1
    assert plat.close_period(1, key="old-key").already_closed
    with pytest.raises(IdempotencyConflict):
        plat.close_period(2, key="old-key")


# --- referral codes -------------------------------------------------------------------------

class RepeatingSource:
    """A random source whose second draw repeats its first (a birthday collision on demand)."""

    def __init__(self) -> None:
        self.draws = 0

    def _next(self) -> int:
        self.draws += 1
        return 7 if self.draws <= 2 else 7 + self.draws

    def randbits(self, k: int) -> int:
        return self._next() % (1 << k)

    def token_hex(self, nbytes: int) -> str:
        return f"{self._next():0{2 * nbytes}x}"


def test_a_repeated_referral_code_is_drawn_again(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    plat = city.platform
    source = RepeatingSource()
    monkeypatch.setattr(registry, "secrets", source)
    first = plat.consumer("Collides 1")
    second = plat.consumer("Collides 2")  # drew the first one's code, then another
    assert source.draws == 3
    with plat.engine.connect() as conn:
        codes = dict(conn.execute(select(t.consumers.c.party_id, t.consumers.c.referral_code)
                                  .where(t.consumers.c.party_id.in_([first, second]))).all())
    assert codes[first] != codes[second]
    for code in codes.values():
        assert re.fullmatch(f"[{registry.REFERRAL_ALPHABET}]{{{registry.REFERRAL_CODE_LENGTH}}}", code)


def test_referral_codes_are_found_as_typed_and_old_codes_still_work(city: City) -> None:
    plat = city.platform
    with plat.engine.connect() as conn:
        code = conn.execute(select(t.consumers.c.referral_code)
                            .where(t.consumers.c.party_id == city.consumer)).scalar_one()
    typed = f"  {code[:4].lower()}-{code[4:]} ".replace("0", "o").replace("1", "I")
    assert plat.run(registry.consumer_by_referral_code, typed) == city.consumer
    legacy = plat.consumer("Old timer")
    with plat.engine.begin() as conn:  # a code given before codes were base 32
        conn.execute(t.consumers.update().where(t.consumers.c.party_id == legacy)
                     .values(referral_code="0a1b2c3d"))
    assert plat.run(registry.consumer_by_referral_code, "0A1B2C3D") == legacy
    with pytest.raises(NotFound):
        plat.run(registry.consumer_by_referral_code, "ZZZZZZZZ")


def test_referral_codes_are_short_and_spread() -> None:
    codes = {registry.new_referral_code() for _ in range(2_000)}
    assert len(codes) == 2_000
    assert {len(c) for c in codes} == {registry.REFERRAL_CODE_LENGTH}
    assert set("".join(codes)) == set(registry.REFERRAL_ALPHABET)  # every symbol is used
    assert all(registry.normalise_referral_code(c) == c for c in codes)


# --- the policy cache -----------------------------------------------------------------------

def _recreate(url: str, dialect: str, request: pytest.FixtureRequest) -> None:
    """Drop the database at ``url`` and make an empty one at the same URL."""
    if dialect == "sqlite":
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    template: str = request.getfixturevalue("pg_template")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))


def test_a_database_made_again_at_the_same_url_is_read_with_its_own_policy(
        db_url: str, dialect: str, open_platform: Callable[..., Platform],
        request: pytest.FixtureRequest) -> None:
    first = open_platform(db_url)
    assert first.read(policy_version, 1).name == "default"
    first.engine.dispose()
    _recreate(db_url, dialect, request)
    other = parse_policy_text(default_policy_text().replace('name = "default"', 'name = "other"', 1))
    second = open_platform(db_url, other)
    assert second.read(policy_version, 1).name == "other"
    assert second.read(policy_version, 1).digest == other.digest


# --- read-only transactions -----------------------------------------------------------------

def _in_thread(work: Callable[[], Any], seconds: float) -> tuple[bool, Any]:
    """Run ``work`` in a thread; ``(finished within seconds, its result or error)``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except Exception as err:  # reported to the test
            out["value"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), out.get("value")


def _count_orders(conn: Any) -> int:
    return len(conn.execute(select(t.orders.c.id)).all())


def test_a_reader_does_not_wait_for_another_reader(city: City) -> None:
    plat = city.platform
    city.order(10_000)

    def outer(conn: Any) -> tuple[bool, Any, float]:
        _count_orders(conn)  # this transaction has read: a reader is under way
        started = time.perf_counter()
        done, value = _in_thread(lambda: plat.read(_count_orders), 5)
        return done, value, time.perf_counter() - started

    done, value, waited = plat.read(outer)
    assert done and value == 1, value
    assert waited < 2


def test_a_writer_does_not_wait_for_a_reader(city: City) -> None:
    plat = city.platform

    def outer(conn: Any) -> tuple[bool, Any]:
        before = _count_orders(conn)
        done, placed = _in_thread(lambda: city.order(10_000), 10)
        return done and before == 0, placed

    done, placed = plat.read(outer)
    assert done and not isinstance(placed, Exception), placed
    assert plat.read(_count_orders) == 1


def test_a_read_only_unit_of_work_refuses_to_write(platform: Platform) -> None:
    with UnitOfWork(platform.engine, read_only=True) as uow, pytest.raises(DBAPIError):
        uow.conn.execute(insert(t.parties), {"kind": "bm", "name": "sneaky"})
    with UnitOfWork(platform.engine) as uow:  # the same pooled connection writes again
        uow.conn.execute(insert(t.parties), {"kind": "bm", "name": "allowed"})
        uow.commit()
    names = platform.read(lambda c: set(c.execute(select(t.parties.c.name)).scalars()))
    assert "allowed" in names and "sneaky" not in names


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_sqlite_write_transactions_still_take_the_write_lock_first(city: City) -> None:
    """Two writers never both read and then fail to upgrade: the second waits at its BEGIN."""
    plat = city.platform
    finished = threading.Event()

    def second_writer() -> None:
        plat.run(lambda uow: uow.conn.execute(insert(t.parties), {"kind": "bm", "name": "second"}))
        finished.set()

    thread = threading.Thread(target=second_writer, daemon=True)
    with UnitOfWork(plat.engine) as uow:
        _count_orders(uow.conn)  # a write transaction that has only read so far
        thread.start()
        assert not finished.wait(0.5)  # waiting for this transaction's write lock
    thread.join(10)
    assert finished.is_set()
