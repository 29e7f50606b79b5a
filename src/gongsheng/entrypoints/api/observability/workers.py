"""The metrics directory that ``serve --workers N`` shares between its uvicorn worker processes.

prometheus_client's multiprocess mode keeps each process's values in files of one directory,
named by ``PROMETHEUS_MULTIPROC_DIR``; a scrape sums them. The directory must hold no file of an
earlier run (counters would carry over) and must be named before any worker loads the client
library, so ``serve`` calls :func:`prepare` first. Live gauges (pool use) of a worker that died
would be summed for ever; a worker that starts calls :func:`forget_dead_workers`.

This module does not import ``prometheus_client`` at import time (see the package docstring).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> tuple[Path, bool]:
    """Name an empty metrics directory in the environment; returns it and whether it is temporary.

    A directory the operator named in ``PROMETHEUS_MULTIPROC_DIR`` is emptied of metric files;
    otherwise a fresh temporary one is made, for the caller to :func:`remove` at exit.
    """
    chosen = os.environ.get(MULTIPROC_ENV)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="gongsheng-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path, True


def remove(path: Path) -> None:
    """Delete a temporary metrics directory made by :func:`prepare`."""
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user holds the pid: not one of our workers
        return False
    return True


def forget_dead_workers() -> list[int]:
    """Drop the live gauges of workers that no longer run; returns their pids."""
    chosen = os.environ.get(MULTIPROC_ENV)
    if not chosen:
        return []
    from prometheus_client import multiprocess

    dead = set()
    for file in Path(chosen).glob("gauge_live*_*.db"):
        suffix = file.stem.rsplit("_", 1)[-1]
        if suffix.isdigit() and not _alive(int(suffix)):
            dead.add(int(suffix))
    for pid in dead:
        multiprocess.mark_process_dead(pid, chosen)  # type: ignore[no-untyped-call]
    return sorted(dead)
