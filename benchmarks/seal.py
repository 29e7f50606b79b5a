"""Sealing a period of N journal entries, and ``verify``'s scan rate over sealed periods.

Run: ``.venv/bin/python benchmarks/seal.py [--entries 1000000] [--legs 8] [--sqlite]``

A fresh PostgreSQL database (``gs_bench_seal``, dropped at the end; with ``--sqlite`` a file in a
temporary folder) is opened with gongsheng's schema and period 1, then ``--entries`` balanced
journal entries of ``--legs`` legs each are bulk-loaded into period 1 server-side (``INSERT ...
SELECT generate_series``, the journal's triggers disabled during the load only). It then times:

- sealing period 1 (``services.seals.seal_period``: the chunk digests computed in SQL on
  PostgreSQL, in Python on SQLite, and the seal stored);
- the seal check of ``verify`` (``services.seals.verify_seals``: every sealed entry recomputed),
  as entries and postings per second;
- the incremental check (``--incremental``: the chain only).

The default size is a smoke run; the figures for the README come from ``--entries 1000000``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, print_table, recreate_pg_database

from gongsheng.adapters.ddl import install_guards
from gongsheng.services import seals
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import stores_on

DB = "gs_bench_seal"

_PG_LOAD = [
    "ALTER TABLE journal_entries DISABLE TRIGGER USER",
    "ALTER TABLE postings DISABLE TRIGGER USER",
    """INSERT INTO journal_entries (id, kind, period, ref_id, leg_count, memo)
       SELECT g, 'order', 1, g, %(legs)s, 'order ' || g FROM generate_series(1, %(n)s) AS g""",
    """INSERT INTO postings (entry_id, leg, account_id, asset, amount)
       SELECT g, l, 64 * (g %% 5000 + 2) + 16 + l, 'CNY',
              CASE WHEN l %% 2 = 0 THEN g %% 997 + 1 ELSE -(g %% 997 + 1) END
       FROM generate_series(1, %(n)s) AS g, generate_series(0, %(legs)s - 1) AS l
       ORDER BY g, l""",  # in entry order, as orders write them
    "SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), %(n)s)",
    "ALTER TABLE journal_entries ENABLE TRIGGER USER",
    "ALTER TABLE postings ENABLE TRIGGER USER",
    "ANALYZE journal_entries", "ANALYZE postings",
]


def _load(plat: Platform, n: int, legs: int) -> None:
    with plat.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for sql in _PG_LOAD:
                conn.exec_driver_sql(sql, {"n": n, "legs": legs})
            return
        for name in ("postings_legs_in_range", "postings_entry_balanced"):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        conn.exec_driver_sql(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?) "
            "INSERT INTO journal_entries (id, kind, period, ref_id, leg_count, memo) "
            "SELECT i, 'order', 1, i, ?, 'order ' || i FROM g", (n, legs))
        conn.exec_driver_sql(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?), "
            "l(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM l WHERE j < ? - 1) "
            "INSERT INTO postings (entry_id, leg, account_id, asset, amount) "
            "SELECT i, j, 64 * (i % 5000 + 2) + 16 + j, 'CNY', "
            "CASE WHEN j % 2 = 0 THEN i % 997 + 1 ELSE -(i % 997 + 1) END FROM g, l ORDER BY i, j",
            (n, legs))
        for name in ("postings_no_update", "postings_no_delete", "journal_entries_no_update",
                     "journal_entries_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        install_guards(conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--legs", type=int, default=8)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    if args.legs % 2:
        parser.error("--legs must be even (the legs balance in pairs)")
    folder = tempfile.TemporaryDirectory()
    url = f"sqlite:///{folder.name}/seal.db" if args.sqlite else recreate_pg_database(DB)
    plat = Platform.open(url)
    try:
        started = time.perf_counter()
        _load(plat, args.entries, args.legs)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        seal = plat.run(lambda uow: seals.seal_period(uow, 1))
        seal_s = time.perf_counter() - started
        assert seal.entries == args.entries, seal
        started = time.perf_counter()
        report = plat.read(lambda c: seals.verify_seals(stores_on(c)))
        verify_s = time.perf_counter() - started
        assert report.ok, report.detail
        started = time.perf_counter()
        quick = plat.read(lambda c: seals.verify_seals(stores_on(c), incremental=True))
        quick_s = time.perf_counter() - started
        assert quick.ok, quick.detail
    finally:
        plat.engine.dispose()
        if not args.sqlite:
            drop_pg_database(DB)
        folder.cleanup()
    n, postings = args.entries, args.entries * args.legs
    print_table(f"seal and verify, {'SQLite' if args.sqlite else 'PostgreSQL'}: {n:,} entries, "
                f"{postings:,} postings", ["step", "seconds", "entries/s", "postings/s"], [
        ["bulk load", f"{load_s:.2f}", "", ""],
        ["seal period", f"{seal_s:.2f}", f"{n / seal_s:,.0f}", f"{postings / seal_s:,.0f}"],
        ["verify (recompute)", f"{verify_s:.2f}", f"{n / verify_s:,.0f}", f"{postings / verify_s:,.0f}"],
        ["verify --incremental", f"{quick_s:.3f}", "", ""],
    ])


if __name__ == "__main__":
    main()
