"""The operator's lists at two sizes of the directory: pages by key against the offset pages and
the counts they replaced, side by side in the same run.

Run: ``.venv/bin/python benchmarks/lists.py [--parties N] [--factor K] [--repeats R]``

For each of two sizes, N and K x N parties, a fresh migrated PostgreSQL database
(``gs_bench_lists_small``, ``gs_bench_lists_large``) is filled with ``INSERT ... SELECT`` (the
schema's own indexes, the trigram index of names included, maintained as rows go in): parties
(one in fifty a merchant, the others consumers, half of them with a three-character Chinese name
and half named ``consumer <id>``), one region, a merchant row, a signing (one in twenty
pending) and a share programme (one in ten with units left) per merchant, and a case per ten
parties (one in a hundred open). Then it times ``R`` times each (p50 and p95, in process, one
read transaction each) the lists as the API and the pages read them: the newest page of every
list, a deep page a tenth of the way from the oldest party, merchants only (the older rows
being consumers), searches for a rare name, a name's start and a name made of the commonest
trigrams; and, as the peer, the SQL the lists ran before: the same deep page by ``OFFSET``,
the parties counted up to 10,000 and every signing counted. It prints both sizes and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, print_table, recreate_pg_database
from sqlalchemy import Connection, Engine, text

from gongsheng.adapters.case_store import list_cases
from gongsheng.adapters.database import make_engine, migrate
from gongsheng.services import store
from gongsheng.views import directory, signings

LOAD = [
    # parties: ids from 2 (1 is the platform); every 50th a merchant; odd consumers named in Chinese
    """INSERT INTO parties (id, kind, name)
       SELECT g, CASE WHEN g % 50 = 0 THEN 'merchant' ELSE 'consumer' END,
              CASE WHEN g % 50 = 0 THEN 'merchant ' || g
                   WHEN g % 2 = 1 THEN chr((19968 + g * 7919 % 3000)::int)
                                       || chr((19968 + g * 104729 % 3000)::int)
                                       || chr((19968 + g * 1299709 % 3000)::int)
                   ELSE 'consumer ' || g END
       FROM generate_series(2, :n + 1) AS g""",
    "SELECT setval(pg_get_serial_sequence('parties', 'id'), :n + 1)",
    "INSERT INTO regions (name, level) VALUES ('region', 'city')",
    """INSERT INTO merchants (party_id, category, channel, region_id, concession_rate,
                              accepts_vouchers)
       SELECT id, 'retail', 'alliance', (SELECT min(id) FROM regions), '0.10', true
       FROM parties WHERE kind = 'merchant'""",
    """INSERT INTO merchant_signings (merchant_id, status, signer_role, signer_id)
       SELECT party_id, CASE WHEN party_id % 1000 = 0 THEN 'pending' ELSE 'approved' END, 'bm',
              party_id % 7 FROM merchants""",
    """INSERT INTO share_programmes (merchant_id, unit_price_cpts, units_offered, units_sold,
                                     profit_share)
       SELECT party_id, 100, 10, CASE WHEN party_id % 500 = 0 THEN 3 ELSE 10 END, '0.5'
       FROM merchants""",
    """INSERT INTO cases (detector, status, summary, period, opened_by)
       SELECT 'manual', CASE WHEN g % 100 = 0 THEN 'open' ELSE 'dismissed' END, 'a case', 1, 'bench'
       FROM generate_series(1, :n / 10) AS g""",
    "VACUUM ANALYZE",
]


def load(name: str, n: int) -> Engine:
    engine = make_engine(recreate_pg_database(name))
    migrate(engine)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for sql in LOAD:
            conn.execute(text(sql), {"n": n})
    return engine


def _rare_name(conn: Connection, n: int) -> str:
    """A Chinese name a tenth of the way from the oldest party (one or a few share it)."""
    return str(conn.execute(text("SELECT name FROM parties WHERE id >= :i AND id % 2 = 1 ORDER BY id "
                                 "LIMIT 1"), {"i": n // 10}).scalar_one())


def reads(conn: Connection, n: int) -> dict[str, tuple[str, Callable[[Connection], Any]]]:
    """Every read, by name: ``(kind, read)``, kind ``key`` (the lists now) or ``offset`` (before)."""
    deep = n - n // 10  # rows newer than a party a tenth of the way from the oldest
    old = n // 10
    rare = _rare_name(conn, n)
    kinds = "('consumer', 'merchant', 'bm', 'partner', 'promoter')"

    def sql(statement: str) -> Callable[[Connection], Any]:
        return lambda c: c.execute(text(statement)).all()

    return {
        "parties, newest": ("key", lambda c: directory.parties(c, limit=50)),
        "parties, a tenth from the oldest": ("key", lambda c: directory.parties(c, limit=50, before=old)),
        "  the same by OFFSET": ("offset", sql(
            f"SELECT id, kind, name FROM parties WHERE kind IN {kinds} ORDER BY id DESC "
            f"LIMIT 51 OFFSET {deep}")),
        "  the parties counted up to 10,000": ("offset", sql(
            f"SELECT count(*) FROM (SELECT id FROM parties WHERE kind IN {kinds} LIMIT 10001) s")),
        "merchants, newest": ("key", lambda c: directory.parties(c, kind="merchant", limit=50)),
        "merchants, a tenth from the oldest": ("key", lambda c: directory.parties(
            c, kind="merchant", limit=50, before=old)),
        "search, a rare name": ("key", lambda c: directory.parties(c, q=rare, limit=50)),
        "search, a name's start (2 characters)": ("key", lambda c: directory.parties(
            c, q=rare[:2], limit=50)),
        "search, common trigrams ('consumer <id>')": ("key", lambda c: directory.parties(
            c, q=f"consumer {old + old % 2}", limit=50)),
        "signings pending, newest": ("key", lambda c: signings.signings(c, status="pending", limit=50)),
        "a signer's signings": ("key", lambda c: signings.signings(c, signer_id=3, limit=50)),
        "  every signing counted": ("offset", sql("SELECT count(*) FROM merchant_signings")),
        "cases open, newest": ("key", lambda c: list_cases(c, "open", 50)),
        "programmes with units left": ("key", lambda c: store.open_programmes(c, limit=50)),
    }


def time_reads(engine: Engine, n: int, repeats: int) -> dict[str, tuple[str, float, float]]:
    out: dict[str, tuple[str, float, float]] = {}
    with engine.connect() as conn:
        named = reads(conn, n)
        conn.rollback()
        for name, (kind, read) in named.items():
            read(conn)  # warm: caches, plans
            conn.rollback()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                read(conn)
                conn.rollback()
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[name] = (kind, statistics.median(times), times[int(0.95 * (len(times) - 1))])
            print(f"  {name:<44} p50 {out[name][1]:9.2f} ms  p95 {out[name][2]:9.2f} ms", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=200_000, help="parties at the smaller size")
    parser.add_argument("--factor", type=int, default=10, help="the larger size is this times N")
    parser.add_argument("--repeats", type=int, default=30, help="timings per read")
    args = parser.parse_args(argv)
    results = []
    for name, n in (("gs_bench_lists_small", args.parties),
                    ("gs_bench_lists_large", args.parties * args.factor)):
        t0 = time.perf_counter()
        engine = load(name, n)
        print(f"{n:,} parties loaded in {time.perf_counter() - t0:.0f} s", flush=True)
        try:
            results.append(time_reads(engine, n, args.repeats))
        finally:
            engine.dispose()
            drop_pg_database(name)
    small, large = results
    rows = [[name, f"{p50:.2f}", f"{p95:.2f}", f"{large[name][1]:.2f}", f"{large[name][2]:.2f}",
             f"{large[name][2] / p95:.2f}x" if p95 else "-"] for name, (_, p50, p95) in small.items()]
    print_table(f"PostgreSQL, {args.parties:,} and {args.parties * args.factor:,} parties; ms",
                ["read", "small p50", "small p95", "large p50", "large p95", "p95 ratio"], rows)


if __name__ == "__main__":
    main()
