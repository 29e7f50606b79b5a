"""``verify`` on books that already exist: the full check and the incremental one, and each check alone.

Run: ``.venv/bin/python benchmarks/verify.py [--db URL] [--repeats 3] [--checks]``

The books are any database this version can read, typically one that
``benchmarks/seed_scale.py --keep`` left (``gs_seed_small``, ``gs_seed_large``; the default is
the larger). Nothing is written. For each mode the best of ``--repeats`` runs is printed, with
the journal's entries and postings per second of the full check (the incremental one reads what
changed since the last seal, not the journal); ``--checks`` also times each check on its
own, one after another (the seals' check still scans on one connection per core; their sum is
more than a full run, whose checks run side by side on PostgreSQL). To compare two checkouts
on the same books, run this file of each with ``PYTHONPATH=<checkout>/src``, one after the
other, and compare the two runs' ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import pg_url, print_table

from gongsheng.services.platform import Platform
from gongsheng.views import verification


def _count(plat: Platform, table: str) -> int:
    with plat.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def _best(plat: Platform, incremental: bool, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        checks = verification.verify(plat, incremental=incremental)
        best = min(best, time.perf_counter() - started)
        failed = [c for c in checks if not c.ok]
        if failed:
            raise SystemExit(f"verify failed on these books: {failed[0].name}: {failed[0].detail}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=pg_url("gs_seed_large"), help="the books' database URL")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode (the best counts)")
    parser.add_argument("--checks", action="store_true", help="also time each check alone, one after another")
    args = parser.parse_args()
    plat = Platform.open(args.db)
    try:
        entries, postings = _count(plat, "journal_entries"), _count(plat, "postings")
        rows = []
        for incremental in (False, True):
            seconds = _best(plat, incremental, args.repeats)
            rates = (["", ""] if incremental else  # it reads what changed, not the journal
                     [f"{entries / seconds:,.0f}", f"{postings / seconds:,.0f}"])
            rows.append(["verify --incremental" if incremental else "verify (full)",
                         f"{seconds:.2f}", *rates])
        alone = []
        if args.checks:
            for check in verification.CHECKS:
                started = time.perf_counter()
                found = plat.read(check, snapshot=True)
                alone.append([found.name, f"{(time.perf_counter() - started) * 1000:,.0f}",
                              "ok" if found.ok else found.detail])
    finally:
        plat.engine.dispose()
    print_table(f"verify: {entries:,} entries, {postings:,} postings, best of {args.repeats}",
                ["mode", "seconds", "entries/s", "postings/s"], rows)
    if alone:
        print_table("each check alone, one after another", ["check", "ms", "result"], alone)


if __name__ == "__main__":
    main()
