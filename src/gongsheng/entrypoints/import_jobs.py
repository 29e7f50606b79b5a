"""One file's orders imported by several processes (``gongsheng import orders --jobs N``).

Process ``j`` imports part ``j`` of ``N`` of the file (``services.importing``: the rows of the
consumers that hash to it, each consumer's orders in file order) on its own connection, one
transaction per chunk, as a one-process import would. This process shows one progress bar and
each bad row as the workers find them, and adds up their reports. A worker that fails stops
nothing the others do; what it committed stays in (a re-run replays it and goes on), and its
error is raised here once every worker has ended. PostgreSQL only: SQLite has one writer.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gongsheng.domain.audit import Actor
from gongsheng.domain.errors import GongshengError, InvalidInput
from gongsheng.services.importing import BadRow, ImportReport, import_orders

MAX_JOBS = 64


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
    else as a :class:`RuntimeError` with its text."""
    if isinstance(err, GongshengError):
        try:
            return err if isinstance(pickle.loads(pickle.dumps(err)), type(err)) else _text(err)
        except Exception:  # an error that does not pickle goes as its text
            return _text(err)
    if isinstance(err, SQLAlchemyError):
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return SQLAlchemyError(f"{type(err).__name__}: {first}")
    return _text(err)


def _text(err: Exception) -> RuntimeError:
    return RuntimeError(f"{type(err).__name__}: {err}")


def import_in_parts(url: str, path: Path, jobs: int, *, actor: Actor, chunk_rows: int,
                    on_bad: Callable[[BadRow], None] = lambda bad: None,
                    progress: Callable[[int], None] = lambda rows: None) -> ImportReport:
    """Import ``path`` into the PostgreSQL books at ``url`` (opened already) in ``jobs``
    processes; the sum of their reports. Raises the first failed worker's error (an engine
    error, a database error or a :class:`RuntimeError`) once every worker has ended."""
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInput(f"jobs must be 1 to {MAX_JOBS}, not {jobs}")
    ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited connections or threads
    events = ctx.Queue()
    workers = [ctx.Process(target=_work, args=(_Job(url, str(path), chunk_rows, (j, jobs), actor),
                                               events), daemon=True) for j in range(jobs)]
    for w in workers:
        w.start()
    total, failures, ended = ImportReport(), dict[int, Exception](), set[int]()
    try:
        while len(ended) < jobs:
            try:
                kind, j, value = events.get(timeout=1.0)
            except queue.Empty:
                for j, w in enumerate(workers):
                    if j not in ended and not w.is_alive() and w.exitcode not in (0, None):
                        failures[j] = RuntimeError(f"import worker {j} ended with exit code "
                                                   f"{w.exitcode} without a report")
                        ended.add(j)
                continue
            if kind == "rows":
                progress(value)
            elif kind == "bad":
                on_bad(value)
            elif kind == "done":
                _add(total, value)
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


def _add(total: ImportReport, part: ImportReport) -> None:
    total.rows += part.rows
    total.placed += part.placed
    total.replayed += part.replayed
    total.bad += part.bad
