"""``gongsheng forecast`` and ``gongsheng policy preview``: the forecast from the live books."""

from __future__ import annotations

import os
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gongsheng.domain.errors import GongshengError
from gongsheng.views.forecast import snapshot

out = Console()
err = Console(stderr=True)
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default: GONGSHENG_DB or ./gongsheng.db)")
]


def _fail(message: str) -> None:
    print(f"gongsheng: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def forecast(
    db: DbOption = None,
    periods: Annotated[int, typer.Option("--periods", min=1, max=240, help="periods ahead")] = 24,
    runs: Annotated[int, typer.Option("--runs", min=1, max=100_000, help="Monte Carlo runs")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="master seed; run i uses spawn(seed)[i]")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="report folder")] = Path("forecast"),
    store: Annotated[bool, typer.Option("--store/--no-store",
                                        help="also store it as the books' forecast")] = True,
    workers: Annotated[int, typer.Option("--workers", min=0, max=256,
                                         help="local processes for the runs (0: one per CPU core); "
                                              "the result does not depend on it")] = 0,
) -> None:
    """Forecast from the live books (Monte Carlo); write JSON, CSV and an HTML report with bands."""
    from gongsheng.entrypoints.cli import opened
    from gongsheng.entrypoints.forecasting import compute
    from gongsheng.entrypoints.forecasting import store as store_forecast
    from gongsheng.sim.forecast_report import write_forecast

    started = time.perf_counter()
    with opened(db) as plat:
        try:
            snap = plat.read(snapshot)
            read = time.perf_counter() - started
            with Progress(TextColumn("[bold]forecast"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err) as bar:
                task = bar.add_task("runs", total=runs)
                fc, doc, holdings = compute(snap, periods, runs, seed,
                                            progress=lambda n: bar.advance(task, n),
                                            workers=workers or os.cpu_count() or 1)
            if store:
                store_forecast(plat, snap, fc, doc, holdings)
            command = "gongsheng forecast " + shlex.join(
                ["--periods", str(periods), "--runs", str(runs), "--seed", str(seed),
                 "--out", str(out_dir)])
            files = write_forecast(doc, holdings, out_dir, command)
        except GongshengError as e:
            _fail(e.detail)
        except OSError as e:
            _fail(str(e))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    nh = doc["new_holding_periods"]
    rr = doc["figures"]["release_rate"]
    out.print(f"forecast from period {doc['starts_at_period']} ({runs} runs x {periods} periods, "
              f"seed {seed}, controller {doc['controller']}): release rate now "
              f"{_pct(rr['p50'][0])} (p10-p90 {_pct(rr['p10'][0])}-{_pct(rr['p90'][0])}) against 1/N "
              f"{_pct(doc['nominal_rate'])}; a holding started now completes in {nh['p50']} periods "
              f"(p10-p90 {nh['p10']}-{nh['p90']})")
    out.print(f"report: {files['report.html']}")
    out.print(f"time {elapsed:.1f} s (books read {read:.1f} s), peak memory {peak:.0f} MB"
              + (f" (largest worker process {worker_peak:.0f} MB)" if worker_peak else ""))


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.3f}%"


def preview(
    file: Annotated[Path, typer.Argument(help="policy TOML file")],
    db: DbOption = None,
    periods: Annotated[int, typer.Option("--periods", min=1, max=240)] = 24,
    runs: Annotated[int, typer.Option("--runs", min=1, max=10_000)] = 50,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """The forecast under a new policy beside the current one, before it is activated; writes nothing."""
    from gongsheng.entrypoints.cli import opened
    from gongsheng.entrypoints.forecasting import preview as run_preview
    from gongsheng.services.policies import parse_policy

    try:
        text = file.read_text("utf-8")
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}")
    with opened(db) as plat:
        try:
            result = run_preview(plat, parse_policy(text), periods=periods, runs=runs, seed=seed)
        except GongshengError as e:
            _fail(e.detail)
    table = Table(title=f"policy preview: {result['policy']['name']!r} against the current policy "
                        f"({runs} runs x {periods} periods from period {result['starts_at_period']})")
    table.add_column("figure")
    table.add_column("current", justify="right")
    table.add_column("proposed", justify="right")
    for key, label in PREVIEW_ROWS:
        table.add_row(label, _show(result["current"][key]), _show(result["proposed"][key]))
    out.print(table)
    out.print(result["note"])


PREVIEW_ROWS = (
    ("controller", "controller"),
    ("release_rate_p50_first", "release rate, first period (p50)"),
    ("release_rate_p50_last", "release rate, last period (p50)"),
    ("new_holding_periods", "periods a holding started now takes (p10/p50/p90)"),
    ("pool_coverage_p50_last", "pool coverage, last period (p50)"),
    ("platform_revenue_fen", "platform revenue over the horizon, fen (p10/p50/p90)"),
    ("partner_dividend_fen", "partner dividends over the horizon, fen (p10/p50/p90)"),
    ("partner_payback_share", "partner dividends / investment (p10/p50/p90)"),
)


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return " / ".join(_show(v.get(k)) for k in ("p10", "p50", "p90"))
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def register(app: typer.Typer, policy_app: typer.Typer) -> None:
    """Add ``forecast`` to ``app`` and ``preview`` to the ``policy`` group."""
    app.command("forecast")(forecast)
    policy_app.command("preview")(preview)


__all__ = ["forecast", "preview", "register"]
