"""The unit of work: one database transaction per use case.

``with UnitOfWork(engine) as uow:`` opens a connection and a transaction; leaving the block
without :meth:`UnitOfWork.commit` rolls everything back (so an error anywhere changes nothing).

Serialisation between writes that must not interleave (the books lock, the adjustments' locks
on parties and the dividend pool) is the adapters' (``adapters/locks.py``); the unit of work
takes them for its use case.

Domain events recorded with :meth:`UnitOfWork.record` are written to the outbox in the same
transaction: by :meth:`UnitOfWork.commit`, or earlier by a statement that writes them with its
change (:meth:`UnitOfWork.outbox`: the order statement on PostgreSQL). An event exists if and
only if its change committed; a rolled-back unit of work leaves none, and so does a rolled-back
:meth:`UnitOfWork.savepoint`. Events are written in the order they were recorded. Operator
actions recorded with :meth:`UnitOfWork.audit` are written to the audit log at commit, by the unit
of work's :attr:`UnitOfWork.actor` (``views/audit.py`` tells how an action is audited).

The unit of work exposes the stores of its transaction (``uow.ledger``, ``uow.orders``,
``uow.holdings``, ...: every attribute of :class:`SqlStores`, and ``uow.closing``; the ports of
``services/ports/``, declared together in ``services.ports.work.Stores``). This module is where
the real ones are built (:func:`stores_on`): the one module of ``services/`` that knows they are
SQL, and so the one exception to the import contract that keeps SQLAlchemy and the tables out
of the services. :attr:`UnitOfWork.conn` is for the read models of ``views/`` (run by
``Platform.read``) and the adapters; no service uses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, RootTransaction

from gongsheng.adapters import database, locks
from gongsheng.adapters.audit_store import add_records
from gongsheng.adapters.event_store import add_events
from gongsheng.adapters.locks import BOOKS_LOCK  # the order path's fused statement takes it
from gongsheng.adapters.sql_stores import SqlStores
from gongsheng.domain.audit import SYSTEM, Actor, AuditRecord
from gongsheng.domain.errors import RetryTransaction
from gongsheng.domain.events import Event, Recorded

if TYPE_CHECKING:
    from gongsheng.services.closing import SqlClosing

__all__ = ["BOOKS_LOCK", "Connection", "Engine", "RetryTransaction", "UnitOfWork", "stores_on"]


def stores_on(conn: Connection) -> SqlStores:
    """The real stores on ``conn``, in its transaction (for use cases called with a connection)."""
    return SqlStores(conn)


class UnitOfWork(SqlStores):
    """A transaction on ``engine``; commits only when asked, rolls back otherwise. Its stores
    (:class:`SqlStores`) act in that transaction.

    ``read_only=True`` declares a use case that only reads: on SQLite it then takes no lock, so
    readers proceed side by side (a write transaction holds SQLite's one write lock from its
    first statement); on both databases a write in it is refused.

    ``snapshot=True`` makes every statement read the same committed state
    (:func:`~gongsheng.adapters.database.one_snapshot`), for a read whose statements must agree.

    ``actor`` is who the use case acts for: the audit records it makes name them.
    """

    conn: Connection

    def __init__(self, engine: Engine, *, read_only: bool = False, snapshot: bool = False,
                 actor: Actor = SYSTEM) -> None:
        self.engine = engine
        self.read_only = read_only
        self.snapshot = snapshot
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
        if self.snapshot:
            database.one_snapshot(self.conn)
        self._tx = self.conn.begin()
        self.events = []
        self.audits = []
        SqlStores.__init__(self, self.conn)
        return self

    @property
    def closing(self) -> SqlClosing:
        """The close's steps of other concepts (forecast, risk, seals) in this transaction."""
        from gongsheng.services.closing import SqlClosing  # it runs services built on this one
        return SqlClosing(self)

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
        The statement may have run (and written them all) before the block raised, so after an
        error here the unit of work is rolled back, or the block ran in a :meth:`savepoint`,
        never committed as it is.
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

    def lock_books(self, *, exclusive: bool = False) -> None:
        """Orders share this lock; a period close holds it alone (:func:`locks.lock_books`)."""
        locks.lock_books(self.conn, exclusive=exclusive)

    def lock_adjustments(self, parties: Iterable[int | None] = (), *,
                         pool_take: int = 0) -> None:
        """Lock what an adjustment checks before it changes it: the books shared, each of
        ``parties`` and the dividend pool for a take of up to ``pool_take`` fen
        (:func:`locks.lock_adjustments` states the rule)."""
        locks.lock_adjustments(self.conn, parties, pool_take=pool_take)


if TYPE_CHECKING:  # mypy holds the real unit of work and stores to the ports
    from gongsheng.services.ports.work import Stores, Work

    def _is_work(uow: UnitOfWork) -> Work:
        return uow

    def _are_stores(stores: SqlStores) -> Stores:
        return stores
