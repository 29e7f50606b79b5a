"""The metrics directory ``serve`` shares between its workers (no server, no database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gongsheng.entrypoints.api.observability import workers


def test_a_fresh_temporary_directory_is_named_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.MULTIPROC_ENV, raising=False)
    path, temporary = workers.prepare()
    try:
        assert temporary and path.is_dir() and not any(path.iterdir())
        assert os.environ[workers.MULTIPROC_ENV] == str(path)
    finally:
        workers.remove(path)
    assert not path.exists()


def test_a_named_directory_is_emptied_of_metric_files(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    (tmp_path / "counter_12.db").write_bytes(b"old")
    (tmp_path / "histogram_12.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv(workers.MULTIPROC_ENV, str(tmp_path))
    path, temporary = workers.prepare()
    assert path == tmp_path and not temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_live_gauges_of_dead_workers_are_forgotten(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)
    dead, alive = int(ended.stdout), os.getpid()
    for pid in (dead, alive):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{dead}.db").write_bytes(b"")  # counters of a dead worker still count
    monkeypatch.setenv(workers.MULTIPROC_ENV, str(tmp_path))
    assert workers.forget_dead_workers() == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"gauge_livesum_{alive}.db", f"counter_{dead}.db"])
