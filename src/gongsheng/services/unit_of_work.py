"""The unit of work: one database transaction per use case.

``with UnitOfWork(engine) as uow:`` opens a connection and a transaction; leaving the block
without :meth:`UnitOfWork.commit` rolls everything back (so an error anywhere changes nothing).

Serialisation between writes that must not interleave (the books lock, the adjustments' locks
on parties and the dividend pool) is the adapters' (``adapters/locks.py``); the unit of work
takes them for its use case.

Domain events recorded with :meth:`UnitOfWork.record` are written to the outbox by
:meth:`UnitOfWork.commit`, in the same transaction: an event exists if and only if its change
committed; a rolled-back unit of work leaves none. Operator actions recorded with
:meth:`UnitOfWork.audit` are written to the audit log the same way, by the unit of work's
:attr:`UnitOfWork.actor` (``services/audit.py`` tells how an action is audited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction

from gongsheng.adapters import database, locks
from gongsheng.adapters.audit_store import add_records
from gongsheng.adapters.event_store import add_events
from gongsheng.adapters.locks import BOOKS_LOCK  # the order path's fused statement takes it
from gongsheng.domain.audit import SYSTEM, Actor, AuditRecord
from gongsheng.domain.errors import RetryTransaction
from gongsheng.domain.events import Event

__all__ = ["BOOKS_LOCK", "RetryTransaction", "UnitOfWork"]


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
        self.events: list[Event] = []
        self.audits: list[AuditRecord] = []

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

    def record(self, event: Event) -> None:
        """Record that ``event`` happened; it is written to the outbox at commit."""
        self.events.append(event)

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
        """Whether the unit of work is on PostgreSQL (asked only by the order path's use cases)."""
        return locks.postgres(self.conn)

    def lock_books(self, *, exclusive: bool = False) -> None:
        """Orders share this lock; a period close holds it alone (:func:`locks.lock_books`)."""
        locks.lock_books(self.conn, exclusive=exclusive)

    def lock_adjustments(self, parties: Iterable[int | None] = (), *,
                         pool_take: int = 0) -> None:
        """Lock what an adjustment checks before it changes it: the books shared, each of
        ``parties`` and the dividend pool for a take of up to ``pool_take`` fen
        (:func:`locks.lock_adjustments` states the rule)."""
        locks.lock_adjustments(self.conn, parties, pool_take=pool_take)
