"""``gongsheng import orders FILE`` (with a progress bar) and ``gongsheng import parties FILE``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gongsheng.domain.errors import InvalidInput

import_app = typer.Typer(help="Import an existing platform's parties' ids and orders.",
                         no_args_is_help=True)
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default: GONGSHENG_DB or ./gongsheng.db)")
]
BAD_ROWS_EXIT = 1
"""Exit code of an import in which some row was bad (the good rows are in)."""
WORKER_FAILED_EXIT = 8
"""Exit code of an import in parts (``--jobs``) whose worker failed other than with an engine
or database error, or died without a report."""


@import_app.command("orders")
def import_orders_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of orders (docs/import.md)")],
    db: DbOption = None,
    chunk: Annotated[int, typer.Option(min=1, max=100_000,
                                       help="rows per transaction")] = 2_000,
    jobs: Annotated[int, typer.Option(min=1, max=64, help=(
        "processes importing at once, each a part of the file by consumer (PostgreSQL)"))] = 1,
) -> None:
    """Import orders, each with its whole waterfall, once (a re-run imports nothing twice)."""
    from gongsheng.adapters.database import database_url
    from gongsheng.adapters.order_file import count_rows
    from gongsheng.entrypoints.cli import fail, guarded, opened, out
    from gongsheng.entrypoints.import_jobs import WorkerFailed, check_parallel_url, import_in_parts
    from gongsheng.services.importing import BadRow, check_parts_allowed, import_orders

    def bad(row: BadRow) -> None:
        print(f"{file.name}:{row.line}: {row.reason}", file=sys.stderr)

    if jobs > 1:  # before anything is opened (a SQLite file would be created)
        guarded(lambda: check_parallel_url(database_url(db)))
    total = guarded(lambda: count_rows(file))
    with opened(db) as plat, Progress(TextColumn("orders"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=out, transient=True) as bar:
        task = bar.add_task("orders", total=total or 1)
        if jobs == 1:
            report = guarded(lambda: import_orders(plat.run, file, chunk_rows=chunk, on_bad=bad,
                                                   progress=lambda n: bar.advance(task, n)))
        else:  # refused before any worker starts (import_in_parts checks the header)
            guarded(lambda: plat.run(check_parts_allowed))
            url = plat.engine.url.render_as_string(hide_password=False)
            plat.engine.dispose()
            try:
                report = guarded(lambda: import_in_parts(
                    url, file, jobs, actor=plat.actor, chunk_rows=chunk, on_bad=bad,
                    progress=lambda n: bar.advance(task, n)))
            except WorkerFailed as err:
                fail(f"{err}; what the workers committed is in: re-run to go on",
                     WORKER_FAILED_EXIT)
    out.print(f"{report.rows} rows: {report.placed} orders imported, {report.replayed} already "
              f"imported, {report.bad} bad")
    if report.bad:
        raise typer.Exit(BAD_ROWS_EXIT)


@import_app.command("parties")
def import_parties_command(
    file: Annotated[Path, typer.Argument(help="CSV file with columns external_id, party_id")],
    db: DbOption = None,
) -> None:
    """Link parties registered here to their ids on the old platform (all or nothing)."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services.importing import link_parties

    pairs = guarded(lambda: _pairs(file))
    with opened(db) as plat:
        linked = guarded(lambda: plat.run(link_parties, pairs))
    out.print(f"{len(pairs)} parties: {linked} newly linked, {len(pairs) - linked} already linked")


def _pairs(file: Path) -> list[tuple[str, int]]:
    try:
        with file.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or {"external_id", "party_id"} - set(reader.fieldnames):
                raise InvalidInput(f"{file.name}: the columns must be external_id, party_id")
            pairs = []
            for row in reader:
                party = row["party_id"] or ""
                if not party.isdigit():
                    raise InvalidInput(f"{file.name}:{reader.line_num}: party_id must be an "
                                       f"integer, not {party!r}")
                pairs.append((row["external_id"] or "", int(party)))
            return pairs
    except OSError as err:
        raise InvalidInput(f"cannot read {file}: {err.strerror}") from err
