"""Shared helpers of the benchmarks: throwaway databases, a synthetic city, table printing.

Benchmarks print figures; they are not pass/fail tests. Every database they make is their own
(a PostgreSQL database dropped at the end, a SQLite file in a temporary directory).
"""

from __future__ import annotations

import os
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

from gongsheng.domain.events import Event
from gongsheng.services.unit_of_work import UnitOfWork

PG_ADMIN_URL = os.environ.get("GS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_url(database: str) -> str:
    """The URL of ``database`` on the benchmark's PostgreSQL server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def recreate_pg_database(name: str) -> str:
    """Drop and create a PostgreSQL database; returns its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    """Drop a PostgreSQL database made by a benchmark (terminating its sessions)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@dataclass(frozen=True)
class City:
    """The parties of a synthetic city: who can buy where."""

    merchants: tuple[int, ...]
    consumers: tuple[int, ...]


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under a header, columns right-aligned to their widest cell."""
    cells = [[str(h) for h in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def order_amounts(rng: random.Random, n: int) -> list[int]:
    """``n`` order amounts in fen, 10 to 500 yuan."""
    return [rng.randrange(1_000, 50_000) for _ in range(n)]


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds (user + system) used so far by the application's processes and by the
    PostgreSQL server's. On a shared machine a throughput moves with whatever else runs; the
    CPU an operation costs moves far less, so it is the figure to compare across checkouts."""

    app: float
    db: float

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.app - other.app, self.db - other.db)


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to ``database`` now."""
    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        pids = [int(pid) for (pid,) in conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": database})]
    admin.dispose()
    return pids


def cpu_times(app_pids: Sequence[int], database: str) -> CpuTimes:
    """CPU used so far by ``app_pids`` with all their descendants, and by the PostgreSQL
    backends of ``database``'s connections (not the server's shared writers, nor other
    databases' backends: other work on the server is not counted). Sampled before and after a
    load on pooled connections, the difference is the load's."""
    app = 0.0
    for pid in app_pids:
        root = psutil.Process(pid)
        app += _cpu(root) + sum(_cpu(child) for child in root.children(recursive=True))
    db = 0.0
    for pid in backend_pids(database):
        with suppress(psutil.NoSuchProcess):
            db += _cpu(psutil.Process(pid))
    return CpuTimes(app, db)


NO_EVENTS_ENV = "GS_BENCH_NO_EVENTS"
NO_EVENTS_PATH = Path(__file__).resolve().parent / "_no_events"
"""A folder with a ``sitecustomize`` that, when :data:`NO_EVENTS_ENV` is ``1``, makes
``UnitOfWork.record`` a no-op in every Python process started with it on ``PYTHONPATH`` (the
server's uvicorn workers are spawned, so a patch in the parent would not reach them)."""


def _record_nothing(self: UnitOfWork, event: Event, *, slot: tuple[str, str] | None = None) -> None:
    """``UnitOfWork.record`` for a run without events: the event is built, never written."""


@contextmanager
def events_recorded(on: bool) -> Iterator[None]:
    """Within the block, events are recorded (``on``) or not: ``UnitOfWork.record`` does nothing,
    so the outbox gets no row. Worker processes forked inside the block inherit it."""
    if on:
        yield
        return
    original = UnitOfWork.record
    UnitOfWork.record = _record_nothing  # type: ignore[method-assign]
    try:
        yield
    finally:
        UnitOfWork.record = original  # type: ignore[method-assign]


def server_env(env: dict[str, str], events: bool) -> dict[str, str]:
    """``env`` for a server process that records events, or not (see :data:`NO_EVENTS_PATH`)."""
    if events:
        return {**env, NO_EVENTS_ENV: "0"}
    path = os.pathsep.join(p for p in (str(NO_EVENTS_PATH), env.get("PYTHONPATH", "")) if p)
    return {**env, NO_EVENTS_ENV: "1", "PYTHONPATH": path}


def overhead(with_events: float, without: float) -> str:
    """The throughput lost to events, as a percentage of the run without them."""
    return f"{100 * (without - with_events) / without:+.1f}%" if without else "n/a"


def events_side_by_side(measure: Callable[[bool, int], float],
                        repeats: int) -> tuple[list[float], list[float]]:
    """Throughputs ``(with events, without)``, ``repeats`` of each, measured as pairs.

    ``measure(events, repeat)`` runs once. The pairs alternate which mode goes first
    (on-off, off-on, ...): on a shared machine, and on books that grow run after run, whichever
    runs second in a fixed order would be favoured or penalised alike every time.
    """
    with_events: list[float] = []
    without: list[float] = []
    for repeat in range(repeats):
        for events in ((True, False) if repeat % 2 == 0 else (False, True)):
            (with_events if events else without).append(measure(events, repeat))
    return with_events, without


def median_overhead(with_events: Sequence[float], without: Sequence[float]) -> str:
    """The median over the pairs of each pair's overhead (:func:`overhead`)."""
    ratios = [(b - a) / b for a, b in zip(with_events, without, strict=True) if b]
    return f"{100 * statistics.median(ratios):+.1f}%" if ratios else "n/a"
