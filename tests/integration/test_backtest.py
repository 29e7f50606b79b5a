"""The forecast's backtest: replayed histories, bands against what happened, the coverage table.

Small sizes (6 periods, 3 runs): the figures mean nothing here; what is checked is that the
comparisons are the ones the history and the bands give, and that replaying histories in
parallel changes no row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gongsheng.entrypoints import backtest as backtest_module
from gongsheng.entrypoints.backtest import (
    TOWN,
    backtest,
    books_key,
    coverage_cells,
    coverage_table,
    inside,
    wilson,
)
from gongsheng.sim.scenario import load_scenario

pytestmark = pytest.mark.slow


def test_parallel_histories_give_the_same_rows(tmp_path: Path) -> None:
    serial = backtest("steady", 2, 6, 4, 3, 12, 7, tmp_path / "serial")
    parallel = backtest("steady", 2, 6, 4, 3, 12, 7, tmp_path / "parallel", jobs=2)
    assert serial == parallel
    # origins 4 and 5 of 6 periods: horizon 1 only, one row per figure and origin per history
    assert {(r["history"], r["origin"], r["horizon"]) for r in serial} == {
        (h, k, 1) for h in (0, 1) for k in (4, 5)}
    for r in serial:
        assert r["inside"] == inside(r["p10"], r["p90"], r["actual"])
        assert r["p10"] <= r["p90"]


def test_coverage_cells_count_what_is_inside(tmp_path: Path) -> None:
    rows = [{"history": h, "origin": k, "figure": "release_rate", "horizon": 1, "p10": 0.0,
             "p90": 1.0, "actual": 0.5 if (h + k) % 3 else 2.0, "inside": bool((h + k) % 3),
             "degenerate": False} for h in range(2) for k in range(6)]
    cell = coverage_cells(rows, "release_rate", 1)
    inside_count = sum(r["inside"] for r in rows)
    assert cell["n"] == 12 and cell["share"] == inside_count / 12
    lo, hi = wilson(inside_count, 12)
    assert (cell["lo"], cell["hi"]) == (lo, hi) and lo < cell["share"] < hi
    assert f"{100 * inside_count / 12:.0f}% (12;" in coverage_table(rows)


def test_kept_books_give_the_rows_of_a_replay_without_replaying(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replayed = backtest("steady", 1, 6, 4, 3, 12, 7, tmp_path / "replay")
    first = backtest("steady", 1, 6, 4, 3, 12, 7, tmp_path / "keep", books=tmp_path / "books")
    assert first == replayed
    kept = list((tmp_path / "books").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".pickle"

    def no_replay(*_: object, **__: object) -> None:
        raise AssertionError("replayed although its books were kept")

    monkeypatch.setattr(backtest_module, "replay", no_replay)
    again = backtest("steady", 1, 6, 4, 3, 12, 7, tmp_path / "again", books=tmp_path / "books")
    assert again == replayed
    with pytest.raises(AssertionError, match="replayed although"):  # another seed is not kept
        backtest("steady", 1, 6, 4, 3, 12, 8, tmp_path / "other", books=tmp_path / "books")


def test_the_books_key_follows_what_decides_a_history() -> None:
    s = load_scenario("steady").with_values({**TOWN, "simulation.periods": 6})
    key = books_key(s, 4, 7)
    assert key == books_key(load_scenario("steady").with_values(
        {**TOWN, "simulation.periods": 6}), 4, 7)
    assert len({key, books_key(s, 5, 7), books_key(s, 4, 8),
                books_key(s.with_values({"orders.purchases_start": 1.0}), 4, 7),
                books_key(s.with_values({"policy.release.controller": "smoothed"}), 4, 7),
                books_key(s.with_values({"simulation.periods": 7}), 4, 7)}) == 6


def test_a_cut_kept_file_is_replayed_and_replaced(tmp_path: Path) -> None:
    replayed = backtest("steady", 1, 6, 4, 3, 12, 7, tmp_path / "replay", books=tmp_path / "books")
    (kept,) = (tmp_path / "books").iterdir()
    whole = kept.read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])
    assert backtest("steady", 1, 6, 4, 3, 12, 7, tmp_path / "again",
                    books=tmp_path / "books") == replayed
    assert kept.read_bytes() == whole
