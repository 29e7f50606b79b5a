"""``gongsheng simulate`` through Typer's test runner writes the report folder."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from gongsheng.sim.cli import register

SCENARIO = """
name = "cli-tiny"
[simulation]
periods = 10
runs = 2
[consumers]
initial = 300
[growth]
monthly = 0.1
consumers_per_merchant = 20
[regions]
count = 5
universe_total = 300
"""


def app() -> typer.Typer:
    root = typer.Typer()
    register(root)

    @root.callback()
    def _main() -> None:
        """test root"""

    return root


def test_simulate_writes_the_report(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    result = CliRunner().invoke(app(), ["simulate", str(scenario), "--runs", "2", "--seed", "9",
                                        "--out", str(out), "--mode", "exact",
                                        "--sweep", "growth.monthly=0.05,0.2"])
    assert result.exit_code == 0, result.output
    for name in ("report.html", "periods.csv", "completion.csv", "earnings.csv", "summary.json",
                 "overview.png", "completion.png", "earnings.png", "growth_search.png",
                 "sweep.csv", "sweep.png", "saturation.csv"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "cli-tiny" in html
    assert "report:" in result.output


def test_simulate_bad_input_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["simulate", "no-such-scenario", "--out", str(tmp_path)])
    assert result.exit_code == 2
    result = CliRunner().invoke(app(), ["simulate", "seed-claims", "--sweep", "growth.bogus=1",
                                        "--out", str(tmp_path)])
    assert result.exit_code == 2
