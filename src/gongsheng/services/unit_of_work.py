"""The unit of work: one database transaction per use case.

``with UnitOfWork(engine) as uow:`` opens a connection and a transaction; leaving the block
without :meth:`UnitOfWork.commit` rolls everything back (so an error anywhere changes nothing).

Serialisation between writes that must not interleave uses PostgreSQL advisory locks (held until
the transaction ends; SQLite has one writer at a time and needs none):

- orders take the *books* lock shared, a period close takes it exclusive, so a close sees
  every order of its period and none of the next;
- refunds, exchanges, payouts and store dividends (*adjustments*) take the books lock shared and
  one lock per party whose points, vouchers or cash they check before they change them: two
  adjustments of one holder run one after the other, adjustments of different holders side by
  side. The locks are taken in one statement in one order (books, parties by key, pool), so
  adjustments cannot deadlock on them. (The release group a refund takes points out of is locked by its row:
  ``holdings.remove_points``.)
- a refund takes from the dividend pool, which must never go negative. Refunds that take little
  from a well-funded pool share it; any other refund holds the pool alone and reads it exactly
  (:meth:`UnitOfWork.lock_adjustments` states the rule and why it is exact).

Domain events recorded with :meth:`UnitOfWork.record` are written to the outbox in the same
transaction: by :meth:`UnitOfWork.commit`, or earlier by a statement that writes them with its
change (:meth:`UnitOfWork.outbox`: the order statement on PostgreSQL). An event exists if and
only if its change committed; a rolled-back unit of work leaves none, and so does a rolled-back
:meth:`UnitOfWork.savepoint`. Events are written in the order they were recorded. Operator
actions recorded with :meth:`UnitOfWork.audit` are written to the audit log at commit, by the unit
of work's :attr:`UnitOfWork.actor` (``services/audit.py`` tells how an action is audited).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction

from gongsheng.adapters import database
from gongsheng.adapters.audit_store import add_records
from gongsheng.adapters.event_store import Recorded, add_events
from gongsheng.adapters.ledger_store import system_balance
from gongsheng.domain.audit import SYSTEM, Actor, AuditRecord
from gongsheng.domain.errors import RetryTransaction
from gongsheng.domain.events import Event
from gongsheng.domain.ledger import AccountKind

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
_slots = random.Random()

__all__ = ["BOOKS_LOCK", "POOL_LOCK", "RetryTransaction", "UnitOfWork", "lock_books"]


class UnitOfWork:
    """A transaction on ``engine``; commits only when asked, rolls back otherwise.

    ``read_only=True`` declares a use case that only reads: on SQLite it then takes no lock, so
    readers proceed side by side (a write transaction holds SQLite's one write lock from its
    first statement); on both databases a write in it is refused.

    ``actor`` is who the use case acts for: the audit records it makes name them.
    """

    conn: Connection

    def __init__(self, engine: Engine, *, read_only: bool = False, actor: Actor = SYSTEM) -> None:
        self.engine = engine
        self.read_only = read_only
        self.actor = actor
        self._tx: RootTransaction | None = None
        self.events: list[Recorded] = []
        """Events recorded and not yet written, in the order they were recorded."""
        self.audits: list[AuditRecord] = []
        self._savepoints = 0

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        if self.read_only:
            database.read_only(self.conn)
        self._tx = self.conn.begin()
        self.events = []
        self.audits = []
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    def record(self, event: Event, *, slot: tuple[str, str] | None = None) -> None:
        """Record that ``event`` happened; it is written to the outbox with the change.

        ``slot``: for an event naming a row that the change writes next and whose id is not
        drawn yet, ``(field, key)``: the integer field of ``event`` holding a placeholder and
        the key of that row. Such an event must be written by the statement that writes the
        row (:meth:`outbox`), which puts the row's id in the field.
        """
        self.events.append(Recorded(event, slot))

    @contextmanager
    def outbox(self) -> Iterator[list[Recorded]]:
        """The events recorded so far (and those recorded in the block), for the one statement
        run in the block to write along with its change, in their order.

        If the block completes they are written; if it raises, the events recorded in the block
        are dropped (they belonged to the failed statement) and the earlier ones stay recorded.
        Inside a :meth:`savepoint` every recorded event belongs to the savepoint (it writes
        the earlier ones first), so a savepoint rolled back takes the written events with it.
        """
        if self.conn.in_nested_transaction() and not self._savepoints:
            raise RuntimeError("a statement writing events runs in UnitOfWork.savepoint, "
                               "not in a bare SAVEPOINT")
        kept = len(self.events)
        try:
            yield self.events
        except BaseException:
            del self.events[kept:]
            raise
        self.events = []

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT: if the block raises, what it changed is undone, and so are the events and
        audit records recorded in it; the error propagates.

        The events recorded before it are written first (one statement, when there are any),
        so that every event written inside the savepoint belongs to it.
        """
        add_events(self.conn, self.events)
        self.events = []
        audits = len(self.audits)
        self._savepoints += 1
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            self.events = []
            del self.audits[audits:]
            raise
        finally:
            self._savepoints -= 1

    def audit(self, action: str, target: str, changes: dict[str, Any] | None = None) -> None:
        """Record that :attr:`actor` did ``action`` (dotted: ``period.closed``) to ``target``
        (``kind:id``: ``period:3``), changing ``changes`` (a JSON object); written to the audit
        log at commit, with the time and the actor's request id."""
        self.audits.append(AuditRecord(action, target, dict(changes or {})))

    def commit(self) -> None:
        """Write the recorded events and audit records and commit them with the change,
        atomically."""
        assert self._tx is not None
        add_events(self.conn, self.events)
        add_records(self.conn, self.actor, self.audits, dt.datetime.now(dt.UTC))
        self.events = []
        self.audits = []
        self._tx.commit()

    @property
    def postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def lock_books(self, *, exclusive: bool = False) -> None:
        """Orders share this lock; a period close holds it alone."""
        lock_books(self.conn, exclusive=exclusive)

    def lock_adjustments(self, parties: Iterable[int | None] = (), *,
                         pool_take: int = 0) -> None:
        """Lock what an adjustment checks before it changes it: the books shared (never during a
        close), each of ``parties`` (None ignored), and the dividend pool when the adjustment
        may take up to ``pool_take`` fen from it.

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
        if not self.postgres:
            return
        keys = sorted({int(p) % 2**31 for p in parties if p is not None})
        calls = [f"pg_advisory_xact_lock_shared({BOOKS_LOCK})",
                 *(f"pg_advisory_xact_lock({PARTY_LOCKS}, {k})" for k in keys)]
        shared = 0 < pool_take <= FAST_POOL_TAKE_FEN and self._pool_covers(pool_take)
        if shared:  # a free slot if there is one (a refund waiting for its parties holds none)
            slots = list(range(POOL_SLOT_LOCKS, POOL_SLOT_LOCKS + POOL_SLOTS))
            _slots.shuffle(slots)
            calls += [f"pg_advisory_xact_lock_shared({POOL_LOCK})",
                      "(SELECT s FROM unnest(ARRAY[" + ", ".join(map(str, slots)) + "]::bigint[]) AS s"
                      " WHERE pg_try_advisory_xact_lock(s) LIMIT 1)"]
        elif pool_take > 0:
            calls.append(f"pg_advisory_xact_lock({POOL_LOCK})")
        # one statement, evaluated left to right: books, parties in key order, then the pool
        row = self.conn.exec_driver_sql("SELECT " + ", ".join(calls)).one()
        if shared:
            if row[-1] is None:  # every slot is taken: wait for one
                self.conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({slots[0]})")
            if not self._pool_covers(pool_take):
                raise RetryTransaction("the dividend pool went down while the refund waited for it")

    def _pool_covers(self, take: int) -> bool:
        """Whether the pool covers ``take`` and the most every other sharing refund may take."""
        available = system_balance(self.conn, AccountKind.POOL_AVAILABLE)
        return available - (POOL_SLOTS - 1) * FAST_POOL_TAKE_FEN - take >= 0

def lock_books(conn: Connection, *, exclusive: bool = False, derived_only: bool = False) -> None:
    """Take the books lock in the connection's transaction (shared, or exclusive for a close).

    Any write stamped with the open period (orders, settlements) takes it shared *before* it reads
    the period, so that a close cannot commit between the read and the write. (An order on
    PostgreSQL reads the period in the lock's own statement, whose snapshot may predate a close
    it waited for; it confirms the period in a later statement instead: ``ordering._BEGIN_PG``.)

    ``derived_only`` declares that the transaction writes nothing but what can be derived again
    from durable rows (a lazy settlement: a holder's checkpoints and the vouchers they pay, a
    function of its points and its groups' fractions). On PostgreSQL it then commits without
    waiting for its WAL flush (``synchronous_commit`` off for this transaction only): a crash can
    lose such a transaction whole, never in part, and the holder's next touch settles the same
    amount again; any later transaction that uses it (a voucher spend) flushes it with its own
    commit, since the WAL is flushed in order.
    """
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        relax = "set_config('synchronous_commit', 'off', true), " if derived_only else ""
        conn.exec_driver_sql(f"SELECT {relax}{fn}({BOOKS_LOCK})")
