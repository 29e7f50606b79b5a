"""``gongsheng simulate``: Monte Carlo runs of a scenario, with a progress bar and a report folder.

:func:`register` adds the command to the main Typer app; ``python -m gongsheng.sim.cli`` runs it
alone. Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gongsheng.domain.errors import GongshengError
from gongsheng.sim.montecarlo import parse_sweep
from gongsheng.sim.report import headline, paragraph, write_report
from gongsheng.sim.scenario import BUILTINS, MODES, Mode, ScenarioError, load_scenario
from gongsheng.sim.study import plan, run_study

console = Console(stderr=True)


def simulate(
    scenario: Annotated[str, typer.Argument(
        help=f"built-in scenario ({', '.join(BUILTINS)}) or a scenario TOML file")],
    runs: Annotated[int | None, typer.Option(
        "--runs", min=1, help="Monte Carlo runs (default: the scenario's)")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="master seed; run i uses SeedSequence(seed).spawn(runs)[i]")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="report folder (default: ./simulation-<scenario>)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address (tcp://host:8786); default: run locally")] = None,
    sweep: Annotated[list[str] | None, typer.Option(
        "--sweep", help="PARAM=V1,V2,... over a dotted scenario or policy path (repeat: a grid)")] = None,
    mode: Annotated[str | None, typer.Option(
        "--mode", help="exact (integer fen) or fast (float64 projection); default: the scenario's")] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="policy TOML file replacing the scenario's")] = None,
    answers: Annotated[bool, typer.Option(
        "--answers/--no-answers",
        help="also run the derived questions (promise, saturation, growth)")] = True,
) -> None:
    """Simulate a scenario forward (Monte Carlo); write tables, charts and an HTML report."""
    try:
        s = load_scenario(scenario)
        if policy is not None:
            s = s.with_values({"policy.file": str(policy.resolve())})
        if mode is not None and mode not in MODES:
            raise ScenarioError(f"--mode must be exact or fast, not {mode!r}")
        chosen: Mode = "exact" if (mode or s.mode) == "exact" else "fast"
        grid = parse_sweep(sweep or [])
        n_runs, master = runs or s.runs, s.seed if seed is None else seed
        for point in grid:  # fail early on a bad path or value
            s.with_values({point: grid[point][0]})
        target = out or Path(f"simulation-{s.name}")
        total = plan(n_runs, grid, answers, 5, s)
        with Progress(TextColumn("[bold]simulate"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as bar:
            task = bar.add_task("runs", total=total)
            study = run_study(s, n_runs, master, chosen, grid, scheduler, answers,
                              progress=lambda n: bar.advance(task, n))
            bar.update(task, completed=total)
        words = [scenario, *(["--runs", str(runs)] if runs else []),
                 *(["--seed", str(seed)] if seed is not None else []),
                 *(["--mode", mode] if mode else []),
                 *(w for spec in sweep or [] for w in ("--sweep", spec)),
                 *(["--policy", str(policy)] if policy else []),
                 *(["--scheduler", scheduler] if scheduler else []),
                 *(["--out", str(out)] if out else []), *([] if answers else ["--no-answers"])]
        command = "gongsheng simulate " + shlex.join(words)
        files = write_report(study, target, command)
    except GongshengError as err:
        print(f"gongsheng: error: {err.detail}", file=sys.stderr)
        raise typer.Exit(2) from None
    except OSError as err:
        print(f"gongsheng: error: {err}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(paragraph(headline(study)))
    print(f"report: {files['report.html']}")


def compare_controllers(
    runs: Annotated[int, typer.Option("--runs", min=1, help="Monte Carlo runs per controller")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="master seed, common to every controller")] = 2021,
    scale_factor: Annotated[int, typer.Option(
        "--scale-factor", min=1, help="multiply each scenario's consumers.scale (fewer agents)")] = 10,
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", help="built-in scenario (repeat; default: all)")] = None,
    out: Annotated[Path, typer.Option("--out", help="folder of controllers.csv/.md")] = Path(
        "simulation-controllers"),
) -> None:
    """Compare the budget, smoothed and forecast controllers on the built-in scenarios (common seeds)."""
    from gongsheng.sim.controllers import CONTROLLERS, compare, write

    names = scenario or list(BUILTINS)
    try:
        with Progress(TextColumn("[bold]controllers"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("runs", total=runs * len(names) * len(CONTROLLERS))
            rows = compare(names, runs, seed, scale_factor, progress=lambda n: bar.advance(task, n))
        path = write(rows, out)
    except GongshengError as err:
        print(f"gongsheng: error: {err.detail}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(path.read_text("utf-8"), end="")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` and ``compare-controllers`` commands to ``app``."""
    app.command("simulate")(simulate)
    app.command("compare-controllers")(compare_controllers)


def main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)

    @app.callback()
    def _root() -> None:
        """gongsheng simulator."""

    app()


if __name__ == "__main__":
    main()
