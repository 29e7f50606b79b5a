"""Integration commands of ``gongsheng``: ``worker`` (webhook deliveries), ``export``,
``apikey`` (:mod:`.apikey_cli`) and ``import`` (:mod:`.import_cli`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    """Formats of ``gongsheng export``."""

    CSV = "csv"
    PARQUET = "parquet"
    BEANCOUNT = "beancount"

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default: GONGSHENG_DB or ./gongsheng.db)")
]


def register(app: typer.Typer) -> None:
    """Add the integration commands to the ``gongsheng`` app."""
    from gongsheng.entrypoints.apikey_cli import apikey_app
    from gongsheng.entrypoints.cli import guarded, out

    app.add_typer(apikey_app, name="apikey")
    from gongsheng.entrypoints.import_cli import import_app

    app.add_typer(import_app, name="import")

    @app.command("worker")
    def worker(
        db: DbOption = None,
        until_idle: Annotated[bool, typer.Option(
            "--until-idle", help="stop once nothing is left to deliver now")] = False,
    ) -> None:
        """Deliver webhook events from the outbox until stopped (several may run on PostgreSQL)."""
        from gongsheng.entrypoints.worker import run_worker

        out.print("webhook worker started (Ctrl-C or SIGTERM stops it)")
        delivered = guarded(lambda: run_worker(db, until_idle=until_idle))
        out.print(f"webhook worker stopped: {delivered} deliveries made")

    @app.command("export")
    def export(
        out_dir: Annotated[Path, typer.Option("--out", help="folder to write the files to")],
        db: DbOption = None,
        period: Annotated[int | None, typer.Option(
            min=1, help="only this period (default: every period)")] = None,
        fmt: Annotated[Format, typer.Option("--format", help="file format")] = Format.CSV,
    ) -> None:
        """Export the journal, balances per period, orders and refunds (streamed)."""
        from gongsheng.entrypoints.export_cli import run_export

        run_export(db, out_dir, period, fmt.value)
