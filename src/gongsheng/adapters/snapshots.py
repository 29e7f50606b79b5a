"""Reads on several connections that all see one transaction's snapshot (PostgreSQL).

A long audit (``verify``) runs independent reads at once, one per core, and they must agree
with each other as if they ran in one transaction. PostgreSQL exports the snapshot of the
transaction that opens a :class:`SnapshotReaders` (``pg_export_snapshot``); each worker's
connection begins ``REPEATABLE READ READ ONLY`` and adopts it (``SET TRANSACTION SNAPSHOT``)
before anything else, so every read, on any connection, sees exactly the commits that
transaction sees. The exporting transaction should itself be ``REPEATABLE READ``
(:func:`~gongsheng.adapters.database.one_snapshot`) for its own later statements to agree too;
it stays open, waiting, while the workers read.

SQLite has one writer and cheap reads: a submitted read runs at once on the transaction's own
connection, in order, and its future is already done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from functools import partial
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Connection

R = TypeVar("R")


def _wait_idle(conn: Connection) -> None:
    """Let ``conn``'s transaction wait, idle, as long as the reads take: a server's
    idle-in-transaction timeout (the operations guide suggests one) must not end it."""
    conn.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")


def _close_quietly(conn: Connection) -> None:
    with suppress(Exception):
        conn.close()


class SnapshotReaders:
    """Up to ``workers`` connections reading ``conn``'s snapshot; use as a context manager.

    Invariant: a read submitted here sees what a read on ``conn`` at ``__enter__`` saw, never a
    commit made after it. Leaving the context waits for every submitted read (on an error, for
    those already running only), then closes every worker's connection, each even if another
    fails to close.
    """

    def __init__(self, conn: Connection, workers: int) -> None:
        self.conn = conn
        self.workers = max(1, workers)
        self.parallel = conn.dialect.name == "postgresql" and self.workers > 1
        self._snapshot = ""
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> SnapshotReaders:
        if self.parallel:
            _wait_idle(self.conn)  # while the workers read
            self._snapshot = str(self.conn.exec_driver_sql("SELECT pg_export_snapshot()")
                                 .scalar_one())
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="snapshot-read")
        return self

    def _worker_conn(self) -> Connection:
        own: Connection | None = getattr(self._local, "conn", None)
        if own is None:
            own = self.conn.engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with self._guard:
                self._opened.append(own)
            own.begin()
            own.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")  # first
            _wait_idle(own)  # a worker done early waits for the others
            self._local.conn = own
        return own

    def _run(self, read: Callable[[Connection], R]) -> R:
        try:
            return read(self._worker_conn())
        except Exception:
            # a failed statement leaves the transaction aborted: this thread's next read
            # adopts the snapshot again on a new connection
            self._local.conn = None
            raise

    def submit(self, read: Callable[[Connection], R]) -> Future[R]:
        """Run ``read(connection)`` in the snapshot: on a worker (PostgreSQL) or now (SQLite)."""
        if self._pool is None:
            done: Future[R] = Future()
            try:
                done.set_result(read(self.conn))
            except Exception as err:  # handed to the caller through the future
                done.set_exception(err)
            return done
        return self._pool.submit(self._run, read)

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        with ExitStack() as closing:
            for own in self._opened:  # a close rolls the read-only transaction back
                # leaving on an error: that error is the one to see, not a close's after it
                closing.callback(own.close if kind is None else partial(_close_quietly, own))
            if self._pool is not None:
                # leaving on an error (or Ctrl-C): reads not started yet are not started
                self._pool.shutdown(wait=True, cancel_futures=kind is not None)
