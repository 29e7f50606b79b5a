"""``gongsheng verify`` (with a progress bar over the journal scan) and ``gongsheng attest``."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gongsheng.services.verification import Check


def run_verify(db: str | None, incremental: bool) -> list[Check]:
    """All checks of ``db``, the journal scan shown as a progress bar of entries."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services.seals import entries_to_scan

    with opened(db) as plat, Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=out, transient=True) as bar:
        total = plat.read(entries_to_scan, incremental)
        task = bar.add_task("journal entries", total=total or 1)
        return guarded(lambda: plat.verify(incremental=incremental,
                                           progress=lambda n: bar.advance(task, n)))
