"""``gongsheng forecast-backtest``: are the forecast's bands honest? (回测)

A history whose truth is known is made by the simulator (``exact`` mode, the built-in scenario
shrunk to a small town) and replayed, order by order, through the live engine into a fresh
SQLite database, closing every period (as ``tests/integration/test_simulate_replay.py`` does:
the live figures equal the simulator's to the fen). After each close ``k`` from ``--first`` on,
the forecast is calibrated on the books as they stand (periods 1..k) and run ``--runs`` times
``--horizon`` periods ahead; its p10-p90 band of each of :data:`FIGURES` at horizons 1, 6 and 12
is compared with what the history did in period ``k + h``. The coverage of a band is the share of
(history, origin) pairs whose actual value lies inside it; the goal is 70-90%.

Pool coverage is measured twice. After the close (``pool_coverage``, what the books store) it is
degenerate under ``budget``: the close pays out all the pool holds, so once the pool binds both
band and actual value are exactly 1 and every such comparison is "inside"; the table counts those
comparisons. Before the close's release (``pool_coverage_before_close``: the pool, available
and reserved, over the vouchers outstanding, when the period's trade is in and nothing of it is
paid yet) it is the figure an operator watches, and it is not degenerate under any controller.

``--books DIR`` keeps what a replay produced, per history: the books' snapshot after every close
from ``--first`` on and the history's true figures (``DIR/<key>.pickle``). A later run with the
same DIR forecasts from them instead of replaying, with the same seeds, so its rows are those a
replay gives; it is the way to measure a change of the calibration or the forecast, which is all
that runs then (the replay is about half a backtest's time). The key (:func:`books_key`) is a hash
of all that decides a history's books: the scenario's content (with its shrinking to the town) and
its policy's, the periods, the first origin, the history's seed, the fields of
:class:`~gongsheng.domain.snapshot.BooksSnapshot` and the figures kept as the truth; it is stored
in the file and checked on reading. It does not know the code: empty DIR when the simulator, the
live engine or the snapshot's reading (``views.forecast.snapshot``) changes. A file is this
machine's own cache, read with ``pickle``: never put one there from elsewhere. One that cannot be
read, or holds another key, is replayed again and replaced (written whole, then renamed).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from gongsheng.domain.snapshot import BooksSnapshot
from gongsheng.services import ordering, registry
from gongsheng.services.platform import Platform
from gongsheng.sim.engine import Engine
from gongsheng.sim.forecast import run_forecast
from gongsheng.sim.population import CH_ALLIANCE, CH_MALL
from gongsheng.sim.scenario import Scenario, load_scenario
from gongsheng.views.forecast import snapshot

HORIZONS = (1, 6, 12)
FIGURES = ("release_rate", "pool_coverage_before_close", "pool_coverage")
TOWN = {"consumers.initial": 60, "consumers.scale": 1, "growth.monthly": 0.06,
        "growth.consumers_per_merchant": 6, "regions.count": 3, "regions.universe_total": 60,
        "vouchers.merchant_spend_share": 0.0, "orders.ramp_periods": 6}
CHANNEL = {CH_MALL: "mall", CH_ALLIANCE: "alliance"}


def _rate(num: Any, den: Any) -> str:
    return str(Decimal(int(num)) / Decimal(int(den)))


def replay(s: Scenario, seed: int, url: str, after_close: Callable[[Platform, int], None]) -> Engine:
    """Simulate ``s`` exactly and replay every period through the live engine at ``url``."""
    engine = Engine(s, np.random.default_rng(seed), "exact", keep_orders=True)
    engine.run()
    pop, sched = engine.pop, engine.schedule
    assert engine.orders is not None
    live = Platform.open(url, policy=s.policy)
    region: dict[int, int] = {}
    promoter: dict[int, int] = {}
    bm: dict[int, int] = {}
    merchant: dict[int, int] = {}
    consumer: dict[int, int] = {}
    for r in range(len(pop.r_partner)):
        region[r] = live.region(f"region {r}", merchant_universe=int(sched.universe[r]))
        if pop.r_partner[r]:
            promoter[r] = live.promoter(f"promoter {r}", live.partner(f"partner {r}", region[r], 10**6))
    region[-1] = live.region("mall")
    signed = registered = 0
    new_agents = np.cumsum(sched.new_agents)
    for t in range(s.periods):
        for j in range(signed, 1 + int(sched.merchants[t].sum())):
            b = int(pop.m_bm[j])
            if b >= 0 and b not in bm:
                bm[b] = live.business_manager(f"bm {b}")
            reg = int(pop.m_region[j])
            merchant[j] = live.merchant(registry.MerchantTerms(
                name=f"merchant {j}", category="replay",
                channel=CHANNEL.get(int(pop.m_channel[j]), "brand"), region_id=region[reg],
                concession_rate=_rate(pop.m_rate_num[j], pop.m_rate_den[j]),
                accepts_vouchers=bool(pop.m_accepts[j]),
                bm_id=bm.get(b), bm_rate=_rate(pop.m_bm_num[j], pop.m_bm_den[j]) if b >= 0 else None,
                promoter_id=promoter.get(reg) if pop.m_promoted[j] else None))
            signed = j + 1
        for i in range(registered, int(new_agents[t])):
            ref, home = int(pop.c_referrer[i]), int(pop.c_home[i])
            consumer[i] = live.consumer(f"consumer {i}", consumer.get(ref) if ref >= 0 else None,
                                        merchant.get(home) if home >= 0 else None)
            registered = i + 1
        for k, (c, m, g, v) in enumerate(zip(*engine.orders[t], strict=True)):
            code = live.pay_code(consumer[int(c)], int(v)).code if v else None
            live.order(ordering.OrderRequest(consumer[int(c)], merchant[int(m)], int(g), int(v),
                                             idempotency_key=f"order-{t}-{k}", pay_code=code))
        live.close_period()
        after_close(live, t + 1)
    live.engine.dispose()
    return engine


@dataclass(frozen=True)
class History:
    """What a replayed history gives a backtest: the books after each close ``k`` from the first
    origin on, and the history's true figures per simulated period."""

    books: dict[int, BooksSnapshot]
    truth: dict[str, Any]


def books_key(s: Scenario, first: int, history_seed: int) -> str:
    """The key of a history's kept books: a hash of what decides them (the module docstring)."""
    decided = {"scenario": s.raw, "policy": s.policy.source, "periods": s.periods,
               "first": first, "seed": history_seed,
               "snapshot": [f.name for f in fields(BooksSnapshot)], "figures": FIGURES}
    text = json.dumps(decided, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _kept(path: Path, key: str) -> History | None:
    """The history kept at ``path`` under ``key``; ``None`` if absent, unreadable or another's."""
    try:
        with path.open("rb") as fh:
            found = pickle.load(fh)  # this machine's own cache (the module docstring)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a cut or stale file is replayed, not fatal
        print(f"kept books {path.name} unreadable ({type(exc).__name__}): replaying",
              file=sys.stderr)
        return None
    if not (isinstance(found, tuple) and len(found) == 2 and found[0] == key
            and isinstance(found[1], History)):
        return None
    return found[1]


def _keep(path: Path, key: str, history: History) -> None:
    """Write ``history`` under ``key`` whole (a temporary file, synced, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial_name = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as sink:
            pickle.dump((key, history), sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial_name, path)
    except BaseException:
        Path(partial_name).unlink(missing_ok=True)
        raise


def history_books(s: Scenario, hist: int, first: int, seed: int, folder: Path,
                  books: Path | None = None) -> History:
    """History ``hist`` (made from ``seed + 1000 x hist``), replayed into its own SQLite file in
    ``folder``, or read from ``books`` where an earlier run kept it (the module docstring)."""
    history_seed = seed + 1000 * hist
    key = books_key(s, first, history_seed)
    kept = books / f"{key}.pickle" if books is not None else None
    if kept is not None:
        found = _kept(kept, key)
        if found is not None:
            return found
    snaps: dict[int, BooksSnapshot] = {}

    def after(live: Platform, k: int) -> None:
        if first <= k < s.periods:
            snaps[k] = live.read(snapshot)
        print(f"history {hist}: period {k} closed", file=sys.stderr)

    path = folder / f"history-{hist}.db"
    path.unlink(missing_ok=True)
    engine = replay(s, history_seed, f"sqlite:///{path}", after)
    out = History(snaps, {f: engine.f[f].copy() for f in FIGURES})
    if kept is not None:
        _keep(kept, key, out)
    return out


def history_rows(s: Scenario, hist: int, first: int, runs: int, horizon: int, seed: int,
                 folder: Path, books: Path | None = None) -> list[dict[str, Any]]:
    """Every (origin, figure, horizon) comparison of one history (:func:`history_books`); the
    forecast after close ``k`` is made from ``seed + k``."""
    periods = s.periods
    found = history_books(s, hist, first, seed, folder, books)
    truth = found.truth
    rows: list[dict[str, Any]] = []
    for k, snap in sorted(found.books.items()):
        fc = run_forecast(snap, horizon, runs, seed + k)
        bands = {f: fc.band(f) for f in FIGURES}
        for fig in FIGURES:
            for h in HORIZONS:
                t = k + h - 1  # books period k + h is sim period k + h - 1
                if t >= periods or h > horizon:
                    continue
                lo, _, hi = bands[fig][:, h - 1]
                actual = float(truth[fig][t])
                if not np.isfinite(actual) or not np.isfinite(lo):
                    continue
                rows.append({"history": hist, "origin": k, "figure": fig, "horizon": h,
                             "p10": lo, "p90": hi, "actual": actual,
                             "inside": inside(lo, hi, actual),
                             "degenerate": inside(1.0, 1.0, lo) and inside(1.0, 1.0, hi)
                             and inside(1.0, 1.0, actual)})
    return rows


def backtest(scenario: str, histories: int, periods: int, first: int, runs: int, horizon: int,
             seed: int, folder: Path, jobs: int = 1, books: Path | None = None
             ) -> list[dict[str, Any]]:
    """Every (history, origin, figure, horizon) comparison, in history order.

    ``jobs > 1`` replays that many histories at once in local processes; each history depends
    only on its own seed, so the rows are the same whatever ``jobs`` is.
    """
    s = load_scenario(scenario).with_values({**TOWN, "simulation.periods": periods})
    folder.mkdir(parents=True, exist_ok=True)
    one = partial(history_rows, s, first=first, runs=runs, horizon=horizon, seed=seed,
                  folder=folder, books=books)
    if jobs <= 1 or histories <= 1:
        return [row for hist in range(histories) for row in one(hist)]
    with ProcessPoolExecutor(min(jobs, histories), mp_context=get_context("fork")) as pool:
        return [row for rows in pool.map(one, range(histories)) for row in rows]


TOLERANCE = 1e-6
"""Relative slack of a band's ends: under ``budget`` the pool is often drained, so coverage sits
at exactly 1 in the books (integers) and at 1 within float rounding in the forecast (fast mode)."""


def inside(lo: float, hi: float, actual: float) -> bool:
    """Whether ``actual`` lies in ``[lo, hi]`` up to :data:`TOLERANCE` of the values' size."""
    slack = TOLERANCE * max(abs(lo), abs(hi), abs(actual), 1e-12)
    return lo - slack <= actual <= hi + slack


def wilson(inside_count: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a share ``inside_count / n`` (independent comparisons)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = inside_count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def coverage_cells(rows: list[dict[str, Any]], fig: str, h: int) -> dict[str, float]:
    """Coverage of one (figure, horizon): the pooled share, its count, its Wilson interval, and
    the standard error across histories (the comparisons of one history overlap in time, so the
    between-history spread is the more honest measure of uncertainty)."""
    sel = [r for r in rows if r["figure"] == fig and r["horizon"] == h]
    n, k = len(sel), sum(bool(r["inside"]) for r in sel)
    lo, hi = wilson(k, n)
    per = [float(np.mean([r["inside"] for r in sel if r["history"] == x]))
           for x in sorted({r["history"] for r in sel})]
    se = float(np.std(per, ddof=1) / math.sqrt(len(per))) if len(per) > 1 else float("nan")
    return {"share": k / n if n else float("nan"), "n": n, "lo": lo, "hi": hi, "se": se,
            "histories": len(per), "degenerate": sum(bool(r.get("degenerate")) for r in sel)}


def coverage_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per figure and horizon, share inside (comparisons), Wilson 95% interval, the
    standard error across histories and, if any, how many comparisons were degenerate (band and
    actual value all exactly 1)."""
    lines = ["| figure | horizon 1 | horizon 6 | horizon 12 |", "|---|---|---|---|"]
    for fig in FIGURES:
        cells = []
        for h in HORIZONS:
            c = coverage_cells(rows, fig, h)
            if not c["n"]:
                cells.append("-")
                continue
            se = "" if not math.isfinite(c["se"]) else f", se {100 * c['se']:.0f} pp"
            flat = f"; {c['degenerate']} all at 1" if c["degenerate"] else ""
            cells.append(f"{100 * c['share']:.0f}% ({c['n']}; {100 * c['lo']:.0f}-{100 * c['hi']:.0f}%"
                         f"{se}{flat})")
        lines.append(f"| {fig} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def forecast_backtest(
    scenario: Annotated[str, typer.Option("--scenario", help="built-in scenario to shrink")] = "steady",
    histories: Annotated[int, typer.Option("--histories", min=1)] = 2,
    periods: Annotated[int, typer.Option("--periods", min=4, max=120)] = 30,
    first: Annotated[int, typer.Option("--first", min=1, help="first origin (closed periods)")] = 4,
    runs: Annotated[int, typer.Option("--runs", min=2)] = 40,
    horizon: Annotated[int, typer.Option("--horizon", min=1)] = 12,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    out: Annotated[Path, typer.Option("--out")] = Path("forecast-backtest"),
    jobs: Annotated[int, typer.Option("--jobs", min=1,
                                      help="histories replayed at once (processes)")] = 1,
    books: Annotated[Path | None, typer.Option(
        "--books", help="keep each replayed history's books here, and forecast from them when "
                        "they are there already (no replay)")] = None,
) -> None:
    """Replay simulated histories through the live engine; report the coverage of the p10-p90 bands."""
    out.mkdir(parents=True, exist_ok=True)
    rows = backtest(scenario, histories, periods, first, runs, horizon, seed, out, jobs, books)
    with (out / "backtest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["history"])
        w.writeheader()
        w.writerows(rows)
    table = coverage_table(rows)
    (out / "coverage.md").write_text(table, "utf-8")
    print(table, end="")


def register(app: typer.Typer) -> None:
    app.command("forecast-backtest")(forecast_backtest)


__all__ = ["History", "backtest", "books_key", "coverage_table", "history_books", "register",
           "replay"]
