"""``gongsheng verify`` (with a progress bar over the journal scan) and ``gongsheng attest``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gongsheng.views import verification


def run_verify(db: str | None, incremental: bool) -> list[verification.Check]:
    """All checks of ``db``, the journal scan shown as a progress bar of entries."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services.seals import entries_to_scan
    from gongsheng.services.unit_of_work import stores_on

    with opened(db) as plat, Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=out, transient=True) as bar:
        total = plat.read(lambda conn: entries_to_scan(stores_on(conn), incremental))
        task = bar.add_task("journal entries", total=total or 1)
        return guarded(lambda: verification.verify(plat, incremental=incremental,
                                                   progress=lambda n: bar.advance(task, n)))


def run_attest(db: str | None, period: int | None, out_file: Path | None, key_file: Path | None,
               verify_file: Path | None, public_key: Path | None) -> None:
    """``gongsheng attest``: sign the attestation of a period, or check a signed file offline."""
    from gongsheng.adapters.signing_key import load_or_create, public_key_file, read_public_key
    from gongsheng.domain.attestation import verify
    from gongsheng.entrypoints.cli import fail, guarded, opened, out
    from gongsheng.settings import Settings
    from gongsheng.views.attestation import signed_attestation

    key_path = key_file or Settings().attestation_key_file
    if verify_file is not None:
        pub = guarded(lambda: read_public_key(public_key or public_key_file(key_path)))
        try:
            document = verify_file.read_bytes()
        except OSError as err:
            fail(f"cannot read {verify_file}: {err.strerror}")
        checked = verify(document, pub)
        if not checked.ok or checked.body is None:
            fail(f"attestation not valid: {checked.detail}", code=1)
            return
        holds = bool(checked.body.get("holds"))
        out.print(f"[green]ok[/green]   {checked.detail}; period {checked.body.get('period')}: "
                  f"{'every statement holds' if holds else 'some statement does not hold'}")
        if not holds:
            raise typer.Exit(1)
        return
    key = guarded(lambda: load_or_create(key_path))
    with opened(db) as plat:
        document = guarded(lambda: plat.read(lambda c: signed_attestation(c, key, period)))
    body = json.loads(document)["attestation"]
    if out_file is not None:
        out_file.write_bytes(document)
    else:
        sys.stdout.write(document.decode() + "\n")
    for statement in body["statements"]:
        mark = "[green]ok[/green]  " if statement["holds"] else "[red]FAIL[/red]"
        err_console.print(f"{mark} {statement['name']} ({statement['rule']})")
    if not body["holds"]:
        fail(f"period {body['period']}: a statement does not hold", code=1)


err_console = Console(stderr=True)
