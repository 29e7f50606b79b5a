"""The unit of work: one database transaction per use case.

``with UnitOfWork(engine) as uow:`` opens a connection and a transaction; leaving the block
without :meth:`UnitOfWork.commit` rolls everything back (so an error anywhere changes nothing).

Serialisation between a period close and the writes that must not interleave with it uses
PostgreSQL advisory locks (held until the transaction ends; SQLite has one writer at a time):

- orders take the *books* lock shared, a period close takes it exclusive, so a close sees
  every order of its period and none of the next;
- refunds, exchanges and payouts also take the *adjust* lock exclusive: they read and lower the
  pool and release groups, which must not race one another.

Domain events recorded with :meth:`UnitOfWork.record` are written to the outbox by
:meth:`UnitOfWork.commit`, in the same transaction: an event exists if and only if its change
committed; a rolled-back unit of work leaves none.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

from gongsheng.adapters import database
from gongsheng.adapters.event_store import add_events
from gongsheng.domain.errors import RetryTransaction
from gongsheng.domain.events import Event

BOOKS_LOCK = 7_000_001
ADJUST_LOCK = 7_000_002

__all__ = ["ADJUST_LOCK", "BOOKS_LOCK", "RetryTransaction", "UnitOfWork", "lock_books"]


class UnitOfWork:
    """A transaction on ``engine``; commits only when asked, rolls back otherwise.

    ``read_only=True`` declares a use case that only reads: on SQLite it then takes no lock, so
    readers proceed side by side (a write transaction holds SQLite's one write lock from its
    first statement); on both databases a write in it is refused.
    """

    conn: Connection

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._tx: RootTransaction | None = None
        self.events: list[Event] = []

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        if self.read_only:
            database.read_only(self.conn)
        self._tx = self.conn.begin()
        self.events = []
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()

    def record(self, event: Event) -> None:
        """Record that ``event`` happened; it is written to the outbox at commit."""
        self.events.append(event)

    def commit(self) -> None:
        """Write the recorded events and commit them with the change, atomically."""
        assert self._tx is not None
        add_events(self.conn, self.events)
        self.events = []
        self._tx.commit()

    @property
    def postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def lock_books(self, *, exclusive: bool = False) -> None:
        """Orders share this lock; a period close holds it alone."""
        lock_books(self.conn, exclusive=exclusive)

    def lock_adjustments(self) -> None:
        """Refunds, exchanges and payouts run one at a time (and never during a close)."""
        if self.postgres:
            self.conn.exec_driver_sql(
                f"SELECT pg_advisory_xact_lock_shared({BOOKS_LOCK}), "
                f"pg_advisory_xact_lock({ADJUST_LOCK})"
            )


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
