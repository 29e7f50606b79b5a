"""``gongsheng export``: the books to files, with a progress bar."""

from __future__ import annotations

from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def run_export(db: str | None, out_dir: Path, period: int | None, fmt: str) -> None:
    """Export ``db`` into ``out_dir`` (one clear line and a non-zero exit on bad input)."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.views.export import export_books

    with opened(db) as plat, Progress(TextColumn("{task.description:<16}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=out, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total or 1)
            bar.update(tasks[name], completed=done if total else 1)

        files = guarded(lambda: plat.read(lambda c: export_books(c, out_dir, period, fmt,
                                                                 progress)))
    for path in files:
        out.print(f"wrote {path}")
