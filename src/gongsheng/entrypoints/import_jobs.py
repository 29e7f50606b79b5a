"""One file's orders imported by several processes (``gongsheng import orders --jobs N``).

Process ``j`` imports part ``j`` of ``N`` of the file (``services.importing``: the rows of the
consumers that hash to it, each consumer's orders in file order) on its own connection, one
transaction per chunk, as a one-process import would. This process shows one progress bar and
each bad row as the workers find them, and adds up their reports. A worker that fails stops
nothing the others do; what it committed stays in (a re-run replays it and goes on), and its
error is raised here once every worker has ended: an engine error or a database error as such,
anything else (a worker that died without a report) as :class:`WorkerFailed`. PostgreSQL only:
SQLite has one writer. Each worker reads the whole file and keeps its part's rows.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from gongsheng.adapters.order_file import columns
from gongsheng.domain.audit import Actor
from gongsheng.domain.errors import GongshengError, InvalidInput
from gongsheng.services.importing import BadRow, ImportReport, check_columns, import_orders

MAX_JOBS = 64
GRACE_POLLS = 2
"""Polls of the queue (a second each) a worker may be seen dead before its report arrives."""


class WorkerFailed(RuntimeError):
    """An import worker failed other than with an engine or database error, or died unreported."""


@dataclass(frozen=True)
class _Job:
    url: str
    path: str
    chunk_rows: int
    part: tuple[int, int]
    actor: Actor


def _work(job: _Job, events: Any) -> None:
    """A worker: import its part, reporting rows done, bad rows and its report (or its error)."""
    from gongsheng.adapters.database import make_engine
    from gongsheng.services.platform import Platform

    j = job.part[0]
    plat = Platform(make_engine(job.url), job.actor)  # the parent opened (migrated) the books
    try:
        report = import_orders(plat.run, Path(job.path), chunk_rows=job.chunk_rows, part=job.part,
                               on_bad=lambda bad: events.put(("bad", j, bad)),
                               progress=lambda rows: events.put(("rows", j, rows)))
        events.put(("done", j, report))
    except Exception as err:  # any failure is reported to the parent, which raises it
        events.put(("failed", j, _portable(err)))
    finally:
        plat.engine.dispose()


def _portable(err: Exception) -> Exception:
    """``err`` as it can travel to the parent: an engine error as it is, a database error as a
    plain :class:`SQLAlchemyError` with its first line (as the command prints it), anything
    else (or an engine error that does not pickle) as :class:`WorkerFailed` with its text."""
    if isinstance(err, GongshengError):
        try:
            return err if isinstance(pickle.loads(pickle.dumps(err)), type(err)) else _text(err)
        except Exception:  # an error that does not pickle goes as its text
            return _text(err)
    if isinstance(err, SQLAlchemyError):  # as the command prints one: its first line
        return SQLAlchemyError(str(getattr(err, "orig", None) or err).strip().splitlines()[0])
    return _text(err)


def _text(err: Exception) -> WorkerFailed:
    return WorkerFailed(f"{type(err).__name__}: {err}")


def check_parallel_url(url: str) -> None:
    """Refuse ``jobs > 1`` on a database other than PostgreSQL (before anything is opened)."""
    if make_url(url).get_backend_name() != "postgresql":
        raise InvalidInput("--jobs above 1 needs PostgreSQL (SQLite has one writer at a time): "
                           "import with --jobs 1")


def import_in_parts(url: str, path: Path, jobs: int, *, actor: Actor, chunk_rows: int,
                    on_bad: Callable[[BadRow], None] = lambda bad: None,
                    progress: Callable[[int], None] = lambda rows: None) -> ImportReport:
    """Import ``path`` into the PostgreSQL books at ``url`` (opened already) in ``jobs``
    processes; the sum of their reports. Raises the first failed worker's error (an engine
    error, a database error or :class:`WorkerFailed`) once every worker has ended."""
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInput(f"jobs must be 1 to {MAX_JOBS}, not {jobs}")
    check_parallel_url(url)
    check_columns(columns(path))  # a bad header is refused here, not once per worker
    ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited connections or threads
    events = ctx.Queue()
    workers = [ctx.Process(target=_work, args=(_Job(url, str(path), chunk_rows, (j, jobs), actor),
                                               events), daemon=True) for j in range(jobs)]
    for w in workers:
        w.start()
    total, failures, ended = ImportReport(), dict[int, Exception](), set[int]()
    dead = dict[int, int]()  # worker -> empty polls since it was first seen dead, unreported
    try:
        while len(ended) < jobs:
            try:
                kind, j, value = events.get(timeout=1.0)
            except queue.Empty:
                for j, w in enumerate(workers):
                    if j in ended or w.is_alive():
                        continue
                    dead[j] = dead.get(j, 0) + 1
                    if dead[j] >= GRACE_POLLS:  # its report would have arrived by now
                        failures[j] = WorkerFailed(f"import worker {j} ended (exit code "
                                                   f"{w.exitcode}) without a report")
                        ended.add(j)
                continue
            if kind == "rows":
                progress(value)
            elif kind == "bad":
                on_bad(value)
            elif kind == "done":
                total.add(value)
                ended.add(j)
            else:
                failures[j] = value
                ended.add(j)
    finally:
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()
    if failures:  # the first worker's error, as the command reports any other
        raise failures[min(failures)]
    return total
