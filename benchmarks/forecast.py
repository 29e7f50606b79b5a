"""``gongsheng forecast`` on the books of a million holders with 24 closed periods of history.

Run: ``.venv/bin/python benchmarks/forecast.py [--holders 1000000] [--runs 200] [--periods 24] [--workers 0]``

A fresh PostgreSQL database (``gs_bench_forecast``, dropped at the end) is bulk-loaded server-side
(``INSERT ... SELECT generate_series``) with what 24 periods of trade would have left: one million
holders (nine in ten consumers at 5x, one in ten merchants at 2.25x, each with one holding), 50
regions with partners, merchants across five categories and channels, the release groups of 24
start periods at 1/40 a period, a funded pool, and periods 1-24 closed with their stored figures
(a platform of one million registered consumers, 60% active, growing 2% a period). Then it runs
the command itself, ``gongsheng forecast --runs R --periods P`` (in this process, through the
Typer app; its runs spread over ``--workers`` processes, 0 for one per CPU core), and prints
its wall time and the peak memory of this process and of the largest worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, recreate_pg_database
from sqlalchemy import Engine
from typer.testing import CliRunner

from gongsheng.adapters.tables import STRIPES
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, AccountKind, system_account
from gongsheng.domain.release import SCALE, nominal_rate
from gongsheng.entrypoints.cli import app
from gongsheng.services.books import open_books

DB = "gs_bench_forecast"
HISTORY = 24
OPEN = HISTORY + 1
RATE = nominal_rate(40)
CATEGORIES = (("catering", "0.15"), ("retail", "0.10"), ("grocery", "0.08"), ("beauty", "0.12"),
              ("education", "0.20"))


def figures(k: int, holders: int) -> dict[str, object]:
    """Period ``k``'s stored figures: 2% growth a period, 60% active, 3 orders of 90 yuan each."""
    registered = int(holders * 0.9 * 1.02 ** (k - HISTORY))
    active = int(registered * 0.6)
    orders = active * 3
    gmv = orders * 9000
    released = int(gmv * 0.04)
    return {"period": k, "gmv_fen": gmv, "gmv_by_channel_fen": {"mall": gmv // 10, "brand": gmv // 10,
                                                               "alliance": gmv - gmv // 5},
            "orders": orders, "active_consumers": active, "new_consumers": int(registered * 0.02),
            "registered_consumers": registered, "merchants": holders // 10,
            "refunds_fen": gmv // 50, "vouchers_spent_fen": int(released * 0.9),
            "vouchers_outstanding_fen": released * 2, "pool_available_fen": released // 5,
            "pool_reserved_fen": released * 2, "released_fen": released,
            "release_rate": str(RATE / SCALE), "controller": "budget"}


def load(engine: Engine, holders: int) -> None:
    pts = AccountKind.POINTS.code
    points = "(1000 + (h * 7919) % 50000)"
    multiple = "(CASE WHEN h % 10 = 0 THEN '2.25' ELSE '5' END)"
    start = f"(1 + h % {HISTORY})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("""INSERT INTO parties (id, kind, name)
            SELECT 10000000 + r, 'partner', 'partner ' || r FROM generate_series(1, 50) AS r""")
        cur.execute("""INSERT INTO regions (id, name, level, merchant_universe)
            SELECT r, 'region ' || r, 'city', 4000 FROM generate_series(1, 50) AS r""")
        cur.execute("""INSERT INTO partners (party_id, region_id, investment_fen, term_start, active)
            SELECT 10000000 + r, r, 50000000, 1, true FROM generate_series(1, 50) AS r""")
        cur.execute(f"""INSERT INTO parties (id, kind, name)
            SELECT h, CASE WHEN h % 10 = 0 THEN 'merchant' ELSE 'consumer' END, 'holder ' || h
            FROM generate_series(2::bigint, {holders + 1}) AS h""")
        cats = " ".join(f"WHEN {i} THEN '{c}'" for i, (c, _) in enumerate(CATEGORIES))
        rates = " ".join(f"WHEN {i} THEN '{r}'" for i, (_, r) in enumerate(CATEGORIES))
        cur.execute(f"""INSERT INTO merchants (party_id, category, channel, region_id, concession_rate,
                accepts_vouchers, active)
            SELECT h, CASE (h / 10) % 5 {cats} END, CASE WHEN h % 70 = 0 THEN 'brand' ELSE 'alliance' END,
                   1 + (h / 10) % 50, CASE (h / 10) % 5 {rates} END, h % 30 <> 0, true
            FROM generate_series(2::bigint, {holders + 1}) AS h WHERE h % 10 = 0""")
        cur.execute(f"""INSERT INTO consumers (party_id, referrer_id, home_merchant_id)
            SELECT h, NULL, NULL FROM generate_series(2::bigint, {holders + 1}) AS h WHERE h % 10 <> 0""")
        cur.execute(f"""INSERT INTO holdings (holder_id, start_period, multiple, points_cpts, settled_fen)
            SELECT h, {start}, {multiple}, {points}, 0 FROM generate_series(2::bigint, {holders + 1}) AS h""")
        cur.execute(f"""INSERT INTO balances (account_id, asset, stripe, amount, nonneg)
            SELECT h * {ACCOUNTS_PER_PARTY} + {pts}, 'PTS', 0, {points}, true
            FROM generate_series(2::bigint, {holders + 1}) AS h""")
        cur.execute("SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))")
        cur.execute(f"""INSERT INTO group_points (start_period, multiple, stripe, points_cpts)
            SELECT start_period, multiple, holder_id % {STRIPES}, sum(points_cpts) FROM holdings
            GROUP BY 1, 2, 3""")
        cur.execute(f"""INSERT INTO release_groups (start_period, multiple, fraction, issued_fen, points_cpts)
            SELECT start_period, multiple, f,
                   floor(pts * (CASE multiple WHEN '5' THEN 5 ELSE 2.25 END) * f / {SCALE}::numeric), pts
            FROM (SELECT start_period, multiple, sum(points_cpts) AS pts,
                         least({SCALE}::numeric, {RATE}::numeric * ({OPEN} - start_period)) AS f
                  FROM group_points GROUP BY 1, 2) AS g""")
        last = figures(HISTORY, holders)
        issued = "(SELECT sum(issued_fen) FROM release_groups)"
        pool = int(last["pool_available_fen"])  # type: ignore[call-overload]
        for acc, asset, amount in [
            (system_account(AccountKind.POINTS_ISSUED), "PTS", "-(SELECT sum(points_cpts) FROM holdings)"),
            (system_account(AccountKind.CASH_IN), "CNY", f"-({pool} + {issued})"),
            (system_account(AccountKind.POOL_AVAILABLE), "CNY", str(pool)),
            (system_account(AccountKind.POOL_RESERVED), "CNY", issued),
            (system_account(AccountKind.VOUCHERS_ISSUED), "VCH", f"-{issued}"),
            (system_account(AccountKind.VOUCHERS_UNSETTLED), "VCH", issued)]:
            cur.execute(f"INSERT INTO balances (account_id, asset, stripe, amount, nonneg) "
                        f"VALUES ({acc}, '{asset}', 0, {amount}, false)")
        cur.execute("SELECT policy_version_id, starts_on FROM periods WHERE seq = 1")
        version, starts = cur.fetchone()
        cur.execute("DELETE FROM periods")
        for k in range(1, OPEN + 1):
            closed = k <= HISTORY
            cur.execute("""INSERT INTO periods (seq, starts_on, ends_on, status, policy_version_id,
                    release_rate, nominal_rate, released_fen, unfunded_fen, figures)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s)""",
                        (k, starts, starts, "closed" if closed else "open", version,
                         RATE if closed else None, RATE if closed else None,
                         figures(k, holders)["released_fen"] if closed else None,
                         json.dumps(figures(k, holders)) if closed else None))
        raw.commit()
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holders", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--out", default="/tmp/gs-bench-forecast")
    ap.add_argument("--workers", type=int, default=0, help="0: one per CPU core")
    args = ap.parse_args(argv)
    url = recreate_pg_database(DB)
    try:
        engine = open_books(url)
        t0 = time.perf_counter()
        load(engine, args.holders)
        engine.dispose()
        print(f"loaded {args.holders:,} holders and {HISTORY} closed periods in "
              f"{time.perf_counter() - t0:.1f} s")
        t1 = time.perf_counter()
        result = CliRunner().invoke(app, ["forecast", "--db", url, "--runs", str(args.runs),
                                          "--periods", str(args.periods), "--out", args.out,
                                          "--workers", str(args.workers)])
        elapsed = time.perf_counter() - t1
        print(result.output.strip())
        if result.exit_code != 0:
            raise SystemExit(f"forecast failed: {result.output or result.exception}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"gongsheng forecast, {args.holders:,} holders, {args.runs} runs x {args.periods} "
              f"periods, {args.workers or os.cpu_count()} worker processes: {elapsed:.1f} s, peak "
              f"memory {peak:.0f} MB (this process), {worker:.0f} MB (largest worker)")
    finally:
        drop_pg_database(DB)


if __name__ == "__main__":
    main()
