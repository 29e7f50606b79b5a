"""Locks between writes that must not interleave, and the commits that need not wait for the disk.

PostgreSQL: advisory locks held until the transaction ends. SQLite has one writer at a time (a
write transaction begins ``IMMEDIATE``) and needs none: every function here is a no-op there.

- orders take the *books* lock shared, a period close takes it exclusive, so a close sees
  every order of its period and none of the next (:func:`lock_books`);
- refunds, exchanges, payouts and store dividends (*adjustments*) take the books lock shared and
  one lock per party whose points, vouchers or cash they check before they change them: two
  adjustments of one holder run one after the other, adjustments of different holders side by
  side. The locks are taken in one statement in one order (books, parties by key, pool), so
  adjustments cannot deadlock on them (:func:`lock_adjustments`). (The release group a refund
  takes points out of is locked by its row: ``holdings.take_back``.)
- a refund takes from the dividend pool, which must never go negative. Refunds that take little
  from a well-funded pool share it; any other refund holds the pool alone and reads it exactly
  (:func:`lock_adjustments` states the rule and why it is exact).
- :func:`lock_cash` locks a party's cash rows, so two withdrawals cannot both pass the check.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from sqlalchemy import Connection

from gongsheng.adapters.ledger_store import system_balance
from gongsheng.domain.errors import RetryTransaction
from gongsheng.domain.ledger import AccountKind, Asset

BOOKS_LOCK = 7_000_001
POOL_LOCK = 7_000_002
POOL_SLOT_LOCKS = 7_000_100
"""The first of the :data:`POOL_SLOTS` slot locks held by refunds that share the pool."""
PARTY_LOCKS = 1
"""Class (first key of PostgreSQL's two-key form) of the per-party advisory locks."""
POOL_SLOTS = 8
"""Most refunds sharing the pool at once."""
FAST_POOL_TAKE_FEN = 100_000
"""Most a refund may take from the pool and still share it (1,000 yuan: the pool's share of an
order of about 10,000 yuan at a 20% concession)."""
_RELAX = "set_config('synchronous_commit', 'off', true)"
_slots = random.Random()


def postgres(conn: Connection) -> bool:
    """Whether ``conn`` is on PostgreSQL (the only database that needs these locks)."""
    return conn.dialect.name == "postgresql"


def lock_books(conn: Connection, *, exclusive: bool = False, derived_only: bool = False) -> None:
    """Take the books lock in the connection's transaction (shared, or exclusive for a close).

    Any write stamped with the open period (orders, settlements) takes it shared *before* it reads
    the period, so that a close cannot commit between the read and the write. (An order on
    PostgreSQL reads the period in the lock's own statement, whose snapshot may predate a close
    it waited for; it confirms the period in a later statement instead: ``order_start._BEGIN_PG``.)

    ``derived_only`` declares that the transaction writes nothing but what can be derived again
    from durable rows (a lazy settlement: a holder's checkpoints and the vouchers they pay, a
    function of its points and its groups' fractions); its commit is then relaxed as by
    :func:`relax_commit`, in the same statement.
    """
    if postgres(conn):
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        relax = f"{_RELAX}, " if derived_only else ""
        conn.exec_driver_sql(f"SELECT {relax}{fn}({BOOKS_LOCK})")


def relax_commit(conn: Connection) -> None:
    """Let this transaction commit without waiting for its WAL flush (PostgreSQL's
    ``synchronous_commit`` off for this transaction only).

    For transactions whose loss is harmless: a crash can lose such a transaction whole, never in
    part; any later transaction that depends on it flushes it with its own commit, since the WAL
    is flushed in order.
    """
    if postgres(conn):
        conn.exec_driver_sql(f"SELECT {_RELAX}")


def lock_adjustments(conn: Connection, parties: Iterable[int | None] = (), *,
                     pool_take: int = 0) -> None:
    """Lock what an adjustment checks before it changes it: the books shared (never during a
    close), each of ``parties`` (None ignored), and the dividend pool when the adjustment may
    take up to ``pool_take`` fen from it.

    The pool: a refund whose take is at most :data:`FAST_POOL_TAKE_FEN`, from a pool that
    holds at least ``(POOL_SLOTS - 1) x FAST_POOL_TAKE_FEN + pool_take``, *shares* it: the
    pool lock shared and one of :data:`POOL_SLOTS` slot locks (a free one when there is
    one; the pool is locked after the parties, so a refund waiting for a busy holder holds
    no slot). Any other refund takes the pool lock exclusive. Why sharing refunds cannot
    drive the pool negative: only refunds
    take from the pool (orders add to it; a close holds the books alone); a sharing refund
    reads the pool after it holds its slot, when at most ``POOL_SLOTS - 1`` others share it,
    each taking at most the fast limit, so ``pool - (their takes + its own) >= 0`` then; a
    commit or rollback of a sharing refund never lowers ``pool - takes still under way``, so
    that stays non-negative, and with it the pool. A refund that finds the pool lower once
    it holds its slot runs again (:class:`RetryTransaction`); an exclusive one sees no other
    refund under way and computes the platform's cover exactly.
    """
    if not postgres(conn):
        return
    keys = sorted({int(p) % 2**31 for p in parties if p is not None})
    calls = [f"pg_advisory_xact_lock_shared({BOOKS_LOCK})",
             *(f"pg_advisory_xact_lock({PARTY_LOCKS}, {k})" for k in keys)]
    shared = 0 < pool_take <= FAST_POOL_TAKE_FEN and _pool_covers(conn, pool_take)
    if shared:  # a free slot if there is one (a refund waiting for its parties holds none)
        slots = list(range(POOL_SLOT_LOCKS, POOL_SLOT_LOCKS + POOL_SLOTS))
        _slots.shuffle(slots)
        calls += [f"pg_advisory_xact_lock_shared({POOL_LOCK})",
                  "(SELECT s FROM unnest(ARRAY[" + ", ".join(map(str, slots)) + "]::bigint[]) AS s"
                  " WHERE pg_try_advisory_xact_lock(s) LIMIT 1)"]
    elif pool_take > 0:
        calls.append(f"pg_advisory_xact_lock({POOL_LOCK})")
    # one statement, evaluated left to right: books, parties in key order, then the pool
    row = conn.exec_driver_sql("SELECT " + ", ".join(calls)).one()
    if shared:
        if row[-1] is None:  # every slot is taken: wait for one
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({slots[0]})")
        if not _pool_covers(conn, pool_take):
            raise RetryTransaction("the dividend pool went down while the refund waited for it")


def _pool_covers(conn: Connection, take: int) -> bool:
    """Whether the pool covers ``take`` and the most every other sharing refund may take."""
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    return available - (POOL_SLOTS - 1) * FAST_POOL_TAKE_FEN - take >= 0


def lock_cash(conn: Connection, account: int) -> None:
    """Lock the rows of a cash account's balance until the transaction ends (PostgreSQL)."""
    if postgres(conn):
        conn.exec_driver_sql(
            "SELECT 1 FROM balances WHERE account_id = %(a)s AND asset = %(asset)s FOR UPDATE",
            {"a": account, "asset": Asset.CNY.value})


__all__ = ["BOOKS_LOCK", "FAST_POOL_TAKE_FEN", "PARTY_LOCKS", "POOL_LOCK", "POOL_SLOTS",
           "POOL_SLOT_LOCKS", "lock_adjustments", "lock_books", "lock_cash", "postgres",
           "relax_commit"]
