"""Closing a period and reading a wallet at 10 thousand, 1 million and 8 million holders.

Run: ``.venv/bin/python benchmarks/periods.py [--sizes 10000,1000000,8000000] [--wallet-reads R]``

For each size, a fresh PostgreSQL database (``gs_bench_periods``, dropped at the end) is opened
with gongsheng's schema and bulk-loaded, server-side (``INSERT ... SELECT generate_series``, primary
keys dropped during the load and rebuilt after; the foreign keys that point at ``parties`` go
with its key and are not rebuilt, none is on the paths timed), with what ``place_order`` would
have written for that many holders over 40 start periods and 2 cap multiples: the parties, one holding each
(consumers at 5x, one in ten a merchant at 2.25x), the release groups' striped points, the
holders' points balances and the platform's, a funded pool, and periods 1-40 closed at the
nominal rate (so 80 groups have released 1/40 of their cap per period since they started).

It then times, on that data:

- ``close_period`` through the service layer (``Platform.close_period``): one close of period 41;
- a wallet read (``Platform.wallet``: settle the holder, then read), median of ``--wallet-reads``
  random holders (each read is that holder's first, so it settles and posts);
- a naive close, the peer a straightforward implementation would be: one ``UPDATE`` of every
  holding's released amount, ``floor(points x multiple x F_g)`` with the advanced fraction
  (rolled back afterwards), run at sizes up to ``--naive-max``.

Prints a table per size and the ratios: 8M close / 10k close, naive / gongsheng close.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, print_table, recreate_pg_database
from sqlalchemy import Engine

from gongsheng.adapters.tables import STRIPES
from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY, AccountKind, system_account
from gongsheng.domain.release import SCALE, nominal_rate
from gongsheng.services.books import open_books
from gongsheng.services.platform import Platform

DB = "gs_bench_periods"
START_PERIODS = 40
OPEN_PERIOD = START_PERIODS + 1
RATE = nominal_rate(40)
POOL_FEN = 10**15  # funded well beyond any release, so the budget controller runs at 1/N

_PK = {
    "parties": ("pk_parties", "id"),
    "holdings": ("pk_holdings", "holder_id, start_period, multiple"),
    "balances": ("pk_balances", "account_id, asset, stripe"),
}


def load(engine: Engine, holders: int) -> None:
    """Bulk-load ``holders`` holders (party ids 2 .. holders+1) and the books around them."""
    pts = AccountKind.POINTS.code
    points = "(1000 + (h * 7919) % 50000)"           # centi-points, deterministic spread
    multiple = "(CASE WHEN h % 10 = 0 THEN '2.25' ELSE '5' END)"
    start = f"(1 + h % {START_PERIODS})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, (name, _) in _PK.items():
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name} CASCADE")
        cur.execute(f"""INSERT INTO parties (id, kind, name)
            SELECT h, CASE WHEN h % 10 = 0 THEN 'merchant' ELSE 'consumer' END, 'holder ' || h
            FROM generate_series(2::bigint, {holders + 1}) AS h""")
        cur.execute(f"""INSERT INTO holdings (holder_id, start_period, multiple, points_cpts, settled_fen)
            SELECT h, {start}, {multiple}, {points}, 0 FROM generate_series(2::bigint, {holders + 1}) AS h""")
        cur.execute(f"""INSERT INTO balances (account_id, asset, stripe, amount, nonneg)
            SELECT h * {ACCOUNTS_PER_PARTY} + {pts}, 'PTS', 0, {points}, true
            FROM generate_series(2::bigint, {holders + 1}) AS h""")
        for table, (name, cols) in _PK.items():
            cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY ({cols})")
        cur.execute("SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))")
        # the groups' striped points, as place_order spreads them over the stripes
        cur.execute(f"""INSERT INTO group_points (start_period, multiple, stripe, points_cpts)
            SELECT start_period, multiple, holder_id % {STRIPES}, sum(points_cpts) FROM holdings
            GROUP BY 1, 2, 3""")
        # periods 1..40 closed at 1/40: a group that started in s has released (40 - s) steps
        cur.execute(f"""INSERT INTO release_groups (start_period, multiple, fraction, issued_fen, points_cpts)
            SELECT start_period, multiple, f,
                   floor(pts * (CASE multiple WHEN '5' THEN 5 ELSE 2.25 END) * f / {SCALE}::numeric), pts
            FROM (SELECT start_period, multiple, sum(points_cpts) AS pts,
                         least({SCALE}::numeric, {RATE}::numeric * ({OPEN_PERIOD} - start_period)) AS f
                  FROM group_points GROUP BY 1, 2) AS g""")
        total_pts = "(SELECT sum(points_cpts) FROM holdings)"
        issued = "(SELECT sum(issued_fen) FROM release_groups)"
        platform_rows = [
            (system_account(AccountKind.POINTS_ISSUED), "PTS", f"-{total_pts}"),
            (system_account(AccountKind.CASH_IN), "CNY", f"-{POOL_FEN}"),
            (system_account(AccountKind.POOL_AVAILABLE), "CNY", f"{POOL_FEN} - {issued}"),
            (system_account(AccountKind.POOL_RESERVED), "CNY", issued),
            (system_account(AccountKind.VOUCHERS_ISSUED), "VCH", f"-{issued}"),
            (system_account(AccountKind.VOUCHERS_UNSETTLED), "VCH", issued),
        ]
        for acc, asset, amount in platform_rows:
            cur.execute(f"INSERT INTO balances (account_id, asset, stripe, amount, nonneg) "
                        f"VALUES ({acc}, '{asset}', 0, {amount}, false)")
        cur.execute("SELECT policy_version_id, starts_on FROM periods WHERE seq = 1")
        version, starts = cur.fetchone()
        cur.execute(f"""UPDATE periods SET status = 'closed', release_rate = {RATE},
            nominal_rate = {RATE}, released_fen = 0, unfunded_fen = 0 WHERE seq = 1""")
        cur.execute(f"""INSERT INTO periods (seq, starts_on, ends_on, status, policy_version_id,
                release_rate, nominal_rate, released_fen, unfunded_fen)
            SELECT s, %s, %s, CASE WHEN s = {OPEN_PERIOD} THEN 'open' ELSE 'closed' END, %s,
                   CASE WHEN s = {OPEN_PERIOD} THEN NULL ELSE {RATE} END,
                   CASE WHEN s = {OPEN_PERIOD} THEN NULL ELSE {RATE} END, 0, 0
            FROM generate_series(2, {OPEN_PERIOD}) AS s""", (starts, starts, version))
        raw.commit()
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute(
            "VACUUM ANALYZE holdings, balances, parties, group_points, release_groups")
        raw.driver_connection.autocommit = False
    finally:
        raw.close()


def naive_close(engine: Engine) -> float:
    """Seconds for a per-holder close: every holding's released amount updated (rolled back)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        cur.execute(f"""UPDATE holdings h SET settled_fen = floor(h.points_cpts
                * (CASE h.multiple WHEN '5' THEN 5 ELSE 2.25 END)
                * least({SCALE}::numeric, g.fraction + {RATE}::numeric) / {SCALE}::numeric)
            FROM release_groups g
            WHERE g.start_period = h.start_period AND g.multiple = h.multiple""")
        seconds = time.perf_counter() - t0
        raw.rollback()
        return seconds
    finally:
        raw.close()


def run_size(holders: int, wallet_reads: int, naive_max: int) -> dict[str, float]:
    """Load a database of ``holders`` holders and time the close, wallets and the naive close."""
    url = recreate_pg_database(DB)
    engine = open_books(url)
    try:
        t0 = time.perf_counter()
        load(engine, holders)
        loaded = time.perf_counter() - t0
        platform = Platform(engine)
        platform.wallet(2)  # warm the pool and the caches
        t0 = time.perf_counter()
        summary = platform.close_period()
        close = time.perf_counter() - t0
        rng = random.Random(holders)
        times = []
        for _ in range(wallet_reads):
            holder = rng.randrange(3, holders + 2)
            t0 = time.perf_counter()
            platform.wallet(holder)
            times.append(time.perf_counter() - t0)
        naive = naive_close(engine) if holders <= naive_max else float("nan")
        print(f"{holders:>11,} holders: loaded in {loaded:.1f} s, close {close * 1000:.1f} ms "
              f"(released {summary.released_fen:,} fen), wallet median "
              f"{statistics.median(times) * 1000:.2f} ms, naive close {naive:.2f} s", flush=True)
        return {"load": loaded, "close": close, "wallet": statistics.median(times),
                "wallet_p95": sorted(times)[int(0.95 * (len(times) - 1))], "naive": naive,
                "released": summary.released_fen}
    finally:
        engine.dispose()
        drop_pg_database(DB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000,8000000",
                        help="comma-separated holder counts")
    parser.add_argument("--wallet-reads", type=int, default=200, help="wallet reads per size")
    parser.add_argument("--naive-max", type=int, default=8_000_000,
                        help="largest size at which the naive close is run")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {n: run_size(n, args.wallet_reads, args.naive_max) for n in sizes}
    rows = [[f"{n:,}", f"{r['load']:.1f}", f"{r['close'] * 1000:.1f}",
             f"{r['wallet'] * 1000:.2f}", f"{r['wallet_p95'] * 1000:.2f}",
             f"{r['naive']:.2f}", f"{r['naive'] / r['close']:.0f}x" if r["naive"] == r["naive"] else "-"]
            for n, r in results.items()]
    print_table("PostgreSQL: period close and wallet read by number of holders (80 release groups)",
                ["holders", "load s", "close ms", "wallet median ms", "wallet p95 ms",
                 "naive close s", "naive / close"], rows)
    if len(sizes) > 1:
        small, large = results[min(sizes)], results[max(sizes)]
        print(f"\nclose at {max(sizes):,} / close at {min(sizes):,} holders: "
              f"{large['close'] / small['close']:.2f}x (goal <= 2x, and under 1 s: "
              f"{large['close'] * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
