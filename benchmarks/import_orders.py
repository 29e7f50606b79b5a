"""Orders per second imported from a file (``gongsheng import orders``) on PostgreSQL.

Run: ``.venv/bin/python benchmarks/import_orders.py [--orders N] [--chunk C] [--format F]
[--jobs J [J ...]]``

1. Registers the synthetic city of ``benchmarks/orders.py`` (300 merchants, 3,000 consumers)
   in a fresh database ``gs_bench_import`` and links every merchant and consumer to an
   external id (``m<id>``, ``c<id>``).
2. Writes ``N`` synthetic orders of an old platform to a CSV and a Parquet file (a temporary
   folder), random consumers at random merchants, 10 to 500 yuan, a share ``--payment-refs``
   (default half) with a payment ref, which the live path feeds to the ring detector per order.
3. Times the import of each file through :func:`services.importing.import_orders` (the whole
   waterfall per order, ``batch.place_orders`` one transaction per chunk), each into its own
   fresh database, then times a re-run of the same file (every row a replay, nothing posted).
   With ``--jobs``, once per value: ``J`` worker processes, each importing a part of the file by
   consumer (``entrypoints.import_jobs``, what ``gongsheng import orders --jobs J`` runs).

Prints orders per second and the extrapolation to the seed's 100 million orders. The database is
the benchmark's own and dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, order_amounts, print_table, recreate_pg_database
from orders import register_city

from gongsheng.adapters.database import make_engine
from gongsheng.entrypoints.import_jobs import import_in_parts
from gongsheng.services.importing import ImportReport, import_orders, link_parties
from gongsheng.services.platform import Platform

PG_DB = "gs_bench_import"
SEED_ORDERS = 100_000_000
COLUMNS = ["external_order_id", "merchant_external_id", "consumer_external_id", "amount_fen",
           "payment_ref"]


def synthetic_rows(merchants: tuple[int, ...], consumers: tuple[int, ...], n: int,
                   with_ref: float = 0.5, seed: int = 11) -> list[list[object]]:
    rng = random.Random(seed)
    amounts = order_amounts(rng, n)
    return [[f"old-{i}", f"m{rng.choice(merchants)}", f"c{rng.choice(consumers)}", amounts[i],
             f"card{rng.randrange(10_000)}" if rng.random() < with_ref else None]
            for i in range(n)]


def write_files(folder: Path, rows: list[list[object]]) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path = folder / "orders.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
    parquet_path = folder / "orders.parquet"
    schema = pa.schema([(c, pa.int64() if c == "amount_fen" else pa.string()) for c in COLUMNS])
    pq.write_table(pa.Table.from_pylist([dict(zip(COLUMNS, r, strict=True)) for r in rows],
                                        schema=schema), parquet_path)
    return {"csv": csv_path, "parquet": parquet_path}


def prepared_platform() -> tuple[Platform, tuple[int, ...], tuple[int, ...]]:
    url = recreate_pg_database(PG_DB)
    city = register_city(url)
    plat = Platform(make_engine(url))
    plat.run(link_parties, [(f"m{m}", m) for m in city.merchants]
             + [(f"c{c}", c) for c in city.consumers])
    return plat, city.merchants, city.consumers


def timed(plat: Platform, path: Path, chunk: int, jobs: int = 1) -> tuple[ImportReport, float]:
    """One import of ``path``: in this process, or in ``jobs`` worker processes (each a part of
    the file by consumer, as ``gongsheng import orders --jobs``)."""
    start = time.perf_counter()
    if jobs == 1:
        report = import_orders(plat.run, path, chunk_rows=chunk)
    else:
        url = plat.engine.url.render_as_string(hide_password=False)
        plat.engine.dispose()
        report = import_in_parts(url, path, jobs, actor=plat.actor, chunk_rows=chunk)
    return report, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders in the file")
    parser.add_argument("--chunk", type=int, default=2_000, help="rows per transaction")
    parser.add_argument("--format", choices=["csv", "parquet", "both"], default="both")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1],
                        help="worker processes; several values: each timed, in that order")
    parser.add_argument("--payment-refs", type=float, default=0.5,
                        help="share of orders with a payment ref (each feeds the ring detector)")
    args = parser.parse_args(argv)
    formats = ["csv", "parquet"] if args.format == "both" else [args.format]
    table = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files: dict[str, Path] = {}
            for fmt in formats:
                for jobs in args.jobs:
                    plat, merchants, consumers = prepared_platform()
                    if not files:
                        rows = synthetic_rows(merchants, consumers, args.orders, args.payment_refs)
                        files = write_files(Path(tmp), rows)
                    report, seconds = timed(plat, files[fmt], args.chunk, jobs)
                    assert report.placed == args.orders and report.bad == 0, report
                    again, replay_seconds = timed(plat, files[fmt], args.chunk, jobs)
                    assert again.placed == 0 and again.replayed == args.orders, again
                    plat.engine.dispose()
                    rate = args.orders / seconds
                    table.append([fmt, jobs, args.orders, args.chunk, f"{seconds:.2f}",
                                  f"{rate:,.0f}", f"{args.orders / replay_seconds:,.0f}",
                                  f"{SEED_ORDERS / rate / 3600:.1f}"])
                    print(f"  {table[-1]}", flush=True)
    finally:
        drop_pg_database(PG_DB)
    print_table("gongsheng import orders on PostgreSQL",
                ["file", "jobs", "orders", "chunk", "seconds", "orders/s", "re-run rows/s",
                 "100M orders, hours (extrapolated)"], table)


if __name__ == "__main__":
    main()
