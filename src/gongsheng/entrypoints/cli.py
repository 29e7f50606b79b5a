"""The ``gongsheng`` command line. Bad input exits non-zero with one clear line on stderr."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from gongsheng.adapters.policy_file import load_policy
from gongsheng.domain.audit import Actor
from gongsheng.domain.errors import (
    Conflict,
    Forbidden,
    GongshengError,
    InvalidInput,
    InvariantViolation,
    NotFound,
    Unauthorized,
)
from gongsheng.domain.money import yuan
from gongsheng.domain.policy import Base, Policy

app = typer.Typer(help="gongsheng (共生): five-party rebate platform engine, reports and simulator.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
policy_app = typer.Typer(help="Policy files.", no_args_is_help=True)
period_app = typer.Typer(help="Release periods.", no_args_is_help=True)
admin_app = typer.Typer(help="Accounts: create admins, set passwords, disable and enable.",
                        no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(period_app, name="period")
app.add_typer(admin_app, name="admin")
party_app = typer.Typer(help="Parties under review: freeze and unfreeze.", no_args_is_help=True)
app.add_typer(party_app, name="party")

out = Console()
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default: GONGSHENG_DB or ./gongsheng.db)")
]
T = TypeVar("T")
WORKER_START_SECONDS = 30
"""How long a worker of ``serve`` may take to load the app and answer (uvicorn's default, 5 s,
is less than an import takes on a busy host, which then kills and restarts workers in a loop)."""


def fail(message: str, code: int = 2) -> None:
    """One clear line on stderr, then exit non-zero."""
    print(f"gongsheng: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


EXIT_CODES: tuple[tuple[type[GongshengError], int], ...] = (
    (InvalidInput, 2), (NotFound, 3), (Conflict, 4), (Unauthorized, 5), (Forbidden, 5),
    (InvariantViolation, 6),
)
"""Exit code per kind of error (the first matching class): bad input 2, not found 3, conflict 4,
not allowed 5, invariant violated 6; a database error 7; anything else of the engine's 2."""
DATABASE_ERROR_EXIT = 7


def exit_code(err: GongshengError) -> int:
    """The exit code of an engine error, by its kind."""
    return next((code for kind, code in EXIT_CODES if isinstance(err, kind)), 2)


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``, turning the engine's errors into one line on stderr and an exit code."""
    try:
        return action()
    except GongshengError as err:
        fail(err.detail, exit_code(err))
    except SQLAlchemyError as err:
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        fail(f"database error ({err.__class__.__name__}): {first}", DATABASE_ERROR_EXIT)
    raise AssertionError("unreachable")


def policy_table(policy: Policy) -> tuple[Table, list[str]]:
    """Per allowed concession rate, each part's share of the concession and feasibility."""
    table = Table(title=f"Concession split of policy {policy.name!r} (shares of the concession)")
    table.add_column("rate", justify="right")
    for part in policy.waterfall:
        table.add_column(part.name + (" (of G)" if part.base is Base.ORDER else ""), justify="right")
    table.add_column("pool", justify="right")
    table.add_column("max contract rate", justify="right")
    table.add_column("feasible")
    problems = []
    contract = policy.contract_part
    for rate in policy.allowed_rates():
        low = contract.min_rate if contract else Decimal(0)
        high = contract.max_rate if contract else Decimal(0)
        shares = [p.share_of_concession(rate, high) for p in policy.waterfall]
        fixed = policy.named_share(rate, Decimal(0))
        room = (1 - fixed) * rate  # the order share left for a contract part
        fits_low, fits_high = policy.feasible(rate, low), policy.feasible(rate, high)  # rounded
        verdict = "yes" if fits_high else ("contract < " + f"{room:.4f}" if fits_low else "NO")
        if not fits_low:
            problems.append(f"at concession rate {rate} the rounded waterfall parts can exceed "
                            "the concession "
                            f"even at the lowest contract rate {low}")
        table.add_row(f"{rate:.2%}", *[f"{s:.2%}" for s in shares],
                      f"{max(Decimal(0), 1 - sum(shares)):.2%}",
                      f"{room:.4f}" if contract else "-", verdict)
    return table, problems


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="policy TOML file")]) -> None:
    """Validate a policy file and print the split at every allowed concession rate."""
    policy = guarded(lambda: load_policy(file))
    table, problems = policy_table(policy)
    out.print(table)
    out.print("Contract parts (BM commission) are checked per merchant when it is signed: a "
              "contract rate at or above 'max contract rate' is refused at that concession rate, "
              "and so is a lower one under which some order's rounded parts would exceed its "
              "concession.")
    if problems:
        fail(problems[0], code=1)
    out.print(f"[green]policy {policy.name!r} is valid[/green] (digest {policy.digest})")


def platform(db: str | None) -> Any:
    """The platform on ``db``, acting as ``cli:<os user>`` (the audit log's actor)."""
    from gongsheng.services.platform import Platform

    return guarded(lambda: Platform.open(db).as_actor(cli_actor()))


def cli_actor() -> Actor:
    """Who a command acts as: the operating-system user running it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Actor.cli(user)


@contextmanager
def opened(db: str | None) -> Iterator[Any]:
    """The platform on ``db`` for one command; its engine's connections are closed afterwards."""
    plat = platform(db)
    try:
        yield plat
    finally:
        plat.engine.dispose()


@period_app.command("close")
def period_close(
    db: DbOption = None,
    force_promise: Annotated[
        bool, typer.Option(help="allow the promise controller (releases may be unfunded)")
    ] = False,
) -> None:
    """Close the current period: release at this period's rate and open the next."""
    with opened(db) as plat:
        summary = guarded(lambda: plat.close_period(force_promise=force_promise))
        _refresh_forecast(plat)
    out.print(f"period {summary.period} closed: release rate {Decimal(summary.release_rate):.6f} of cap "
              f"(nominal {Decimal(summary.nominal_rate):.6f}), released {yuan(summary.released_fen)} yuan, "
              f"pool available {yuan(summary.pool_available_fen)} / reserved "
              f"{yuan(summary.pool_reserved_fen)} yuan")
    for flag in summary.figures.risk_flags:
        out.print(f"[yellow]risk[/yellow] {flag.flag}: {flag.detail}")


@app.command("verify")
def verify(db: DbOption = None, incremental: Annotated[
        bool, typer.Option(help="check only what changed since the last sealed period")] = False,
) -> None:
    """Check every invariant of the stored books and every period's seal; exit 0 only if all hold."""
    from gongsheng.entrypoints.integrity_cli import run_verify

    checks = run_verify(db, incremental)
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {check.name}: {check.detail}")
    failed = next((c for c in checks if not c.ok), None)
    if failed is not None:
        fail(f"invariant failed: {failed.name} ({failed.detail})", code=1)


@app.command("attest")
def attest(
    db: DbOption = None,
    period: Annotated[int | None, typer.Option(min=1, help="closed period (default: the last)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the signed file here "
                                                  "(default: stdout)")] = None,
    key: Annotated[Path | None, typer.Option(help="signing key file (default: "
                                             "GONGSHENG_ATTESTATION_KEY_FILE)")] = None,
    verify_file: Annotated[Path | None, typer.Option("--verify", help="check a signed file offline")] = None,
    public_key: Annotated[Path | None, typer.Option(help="the platform's public key for --verify "
                                                    "(default: <key file>.pub)")] = None,
) -> None:
    """Signed compliance attestation of a closed period; exit 0 only if every check holds."""
    from gongsheng.entrypoints.integrity_cli import run_attest

    run_attest(db, period, out_file, key, verify_file, public_key)


def _password_input() -> str:
    """A password from GONGSHENG_ADMIN_PASSWORD, else a hidden prompt, else a line of stdin."""
    password = os.environ.get("GONGSHENG_ADMIN_PASSWORD")
    if password is None:
        password = (typer.prompt("password", hide_input=True) if sys.stdin.isatty()
                    else sys.stdin.readline().rstrip("\n"))
    return password


@admin_app.command("create")
def admin_create(username: str, db: DbOption = None) -> None:
    """Create an admin account; the password comes from stdin or GONGSHENG_ADMIN_PASSWORD."""
    from gongsheng.services import accounts

    password = _password_input()
    with opened(db) as plat:
        account = guarded(lambda: plat.run(accounts.create_account, username, password, "admin"))
    out.print(f"admin account {account.username!r} created")


@admin_app.command("password")
def admin_password(username: str, db: DbOption = None) -> None:
    """Set any account's password (from stdin or GONGSHENG_ADMIN_PASSWORD); ends its sessions."""
    from gongsheng.services import accounts

    password = _password_input()
    with opened(db) as plat:
        account = guarded(lambda: plat.run(accounts.reset_password, username, password))
    out.print(f"password of {account.username!r} changed; its sessions have ended")


@admin_app.command("disable")
def admin_disable(username: str, db: DbOption = None) -> None:
    """Disable an account: it cannot sign in, and its tokens end at once."""
    from gongsheng.services import accounts

    with opened(db) as plat:
        account = guarded(lambda: plat.run(accounts.set_disabled, username, True))
    out.print(f"account {account.username!r} disabled; its sessions have ended")


@admin_app.command("enable")
def admin_enable(username: str, db: DbOption = None) -> None:
    """Enable a disabled account again."""
    from gongsheng.services import accounts

    with opened(db) as plat:
        account = guarded(lambda: plat.run(accounts.set_disabled, username, False))
    out.print(f"account {account.username!r} enabled")


def _cli_actor() -> str:
    """Who acts from the command line: the operating-system user, marked as such."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):
        return "cli"


@party_app.command("freeze")
def party_freeze(party_id: int,
                 reason: Annotated[str, typer.Option(help="why the party is frozen")],
                 db: DbOption = None) -> None:
    """Freeze a party for review: no sale, voucher spend or withdrawal; its earnings accrue."""
    with opened(db) as plat:
        status = guarded(lambda: plat.freeze(party_id, reason=reason, actor=_cli_actor()))
    out.print(f"{status.kind} {party_id} is frozen: {status.current.reason if status.current else ''}")


@party_app.command("unfreeze")
def party_unfreeze(party_id: int, db: DbOption = None) -> None:
    """Unfreeze a party: it resumes with everything it accrued while frozen."""
    with opened(db) as plat:
        status = guarded(lambda: plat.unfreeze(party_id, actor=_cli_actor()))
    out.print(f"{status.kind} {party_id} is not frozen")


@app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
    log_level: Annotated[str, typer.Option(
        help="least level logged: debug, info, warning, error")] = "info",
    access_log: Annotated[bool, typer.Option(
        help="one JSON line per request (uvicorn's access log)")] = False,
) -> None:
    """Serve the HTTP API (under /api/v1, OpenAPI at /openapi.json) with uvicorn."""
    import uvicorn

    from gongsheng.entrypoints.api.observability import workers as metrics_dir
    from gongsheng.entrypoints.api.observability.logs import log_config
    from gongsheng.settings import Settings, serve_database

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        fail(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    settings = Settings()
    url = serve_database(db, settings)
    secret = guarded(lambda: settings.secret(url))
    platform(url).engine.dispose()  # migrate once, before the workers start
    os.environ["GONGSHENG_DB"] = url
    os.environ["GONGSHENG_SECRET_KEY"] = secret  # every worker signs with the same key
    # before any worker loads prometheus_client: one metrics directory, summed over the workers
    directory, temporary = metrics_dir.prepare()
    shown = url.split("@")[-1] if "@" in url else url
    out.print(f"serving {shown} on http://{host}:{port} (web pages /login, API /api/v1, docs /docs; "
              f"/healthz, /readyz, /metrics)")
    try:
        uvicorn.run("gongsheng.entrypoints.api.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_config=log_config(log_level), log_level=log_level.lower(),
                    access_log=access_log, timeout_worker_healthcheck=WORKER_START_SECONDS)
    finally:
        if temporary:
            metrics_dir.remove(directory)


@app.command("demo")
def demo(
    db: DbOption = None,
    periods: Annotated[int, typer.Option(min=1, max=240, help="periods to run")] = 12,
    consumers: Annotated[int, typer.Option(min=1, max=1_000_000, help="consumers at the start")] = 150,
    merchants: Annotated[int, typer.Option(min=3, max=100_000, help="merchants")] = 30,
    seed: Annotated[int, typer.Option(help="seed of the random draws")] = 7,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="HTML report file (default: beside the database)")] = None,
) -> None:
    """Build a synthetic city, run it period by period, print KPIs and risk flags, write a report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gongsheng.entrypoints.demo import DemoConfig, demo_files, run_demo
    from gongsheng.entrypoints.demo.report import COLUMNS, TERMINAL, cell, render
    from gongsheng.settings import DEMO_DB_FILE, Settings

    settings = Settings()
    url = db or settings.db or f"sqlite:///{DEMO_DB_FILE}"
    plat = platform(url)
    password = settings.demo_password.get_secret_value() if settings.demo_password else None
    config = DemoConfig(periods=periods, consumers=consumers, merchants=merchants, seed=seed)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), console=out) as bar:
            task = bar.add_task("building the city", total=periods)
            result = guarded(lambda: run_demo(
                plat, config, password=password,
                progress=lambda text, done: bar.update(task, description=text, completed=done)))
        table = Table(title="KPIs per period (amounts in yuan)")
        shown_columns = [(k, label) for k, label in COLUMNS if k in TERMINAL]
        for _, label in shown_columns:
            table.add_column(label, justify="right")
        for row in result.kpis["periods"]:
            table.add_row(*[cell(key, row.get(key)) for key, _ in shown_columns])
        out.print(table)
        flags = result.risk["flags"]
        for flag in flags:
            out.print(f"[yellow]risk[/yellow] {flag['flag']} (period {flag['period']}): {flag['detail']}")
        if not flags:
            out.print("[green]no risk flags[/green]")
        guarded(lambda: _refresh_forecast(plat))
        report = out_file or demo_files(plat.engine.url.render_as_string(hide_password=False))[1]
        shown = url.split("@")[-1] if "@" in url else url
        meta = {"database": shown, "seed": str(seed), "periods run": str(len(result.closed)),
                "orders placed": str(result.orders), "continued": "no" if result.first_run else "yes"}
        guarded(lambda: report.write_text(render(result.kpis, result.risk, meta), "utf-8"))
        out.print(f"{'built the city and ran' if result.first_run else 'continued for'} "
                  f"{len(result.closed)} periods ({result.orders} orders) on {shown}")
        out.print(f"report: {report}")
        out.print(f"logins (username, role, party id, password): {result.logins_file}; "
                  "each login has its own password; sign in as 'admin' with the one in that file")
    finally:
        plat.engine.dispose()


def _refresh_forecast(plat: Any) -> None:
    """After a committed close, store a fresh forecast when one is due (entrypoints/forecasting.py)."""
    from gongsheng.entrypoints.forecasting import refresh

    guarded(lambda: refresh(plat))


def _register_optional_commands() -> None:
    """Commands whose modules may pull heavier dependencies are registered lazily here."""
    try:
        from gongsheng.sim.cli import register as register_simulate
    except ImportError:  # pragma: no cover - the simulator ships with the package
        return
    register_simulate(app)
    from gongsheng.entrypoints.forecast_cli import register as register_forecast

    register_forecast(app, policy_app)
    from gongsheng.entrypoints.backtest import register as register_backtest

    register_backtest(app)


_register_optional_commands()


def _register_integration_commands() -> None:
    """``worker`` and ``export`` (entrypoints/cli_integration.py)."""
    from gongsheng.entrypoints.cli_integration import register

    register(app)


_register_integration_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
