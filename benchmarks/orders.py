"""Orders per second through the service layer, on PostgreSQL and SQLite, with a peer.

Run: ``.venv/bin/python benchmarks/orders.py [--orders N] [--seconds S] [--batch-size B]``

1. **One commit per order**: each order is one transaction with its whole waterfall
   (``Platform.order`` -> ``ordering.place_order``), on PostgreSQL and SQLite, 1 and 2 worker
   processes (each its own engine).
2. **Batch path**: ``batch.place_orders``, many orders per commit, per-order idempotency and
   all-or-nothing per order, on PostgreSQL (1 and 2 workers) and SQLite (1 worker).
3. **Peer**: django-hordak 2.0.0 posting the same 8-leg transactions on the same PostgreSQL
   (``benchmarks/_hordak.py``), 1 and 2 processes; the ratio gongsheng / hordak.

Each run is bounded by ``--orders`` per worker and ``--seconds`` of wall time, whichever
comes first. Beside orders/s each run prints the CPU milliseconds an order cost its worker
process and that worker's PostgreSQL backend (medians over the runs): on a busy machine the
rate moves with whatever else runs, the CPU an order costs far less, so it is the figure that
compares two checkouts (``PYTHONPATH=/path/to/checkout/src .venv/bin/python
benchmarks/orders.py`` measures another checkout with this file).

Events: by default every order records its ``order.placed`` event in the outbox, as
in production; ``--no-events`` runs with ``UnitOfWork.record`` a no-op (the event is built but
never written), and ``--compare-events`` runs every measurement both ways, ``--repeats`` pairs
of runs on the same books, alternating which mode goes first (on-off, off-on, ...), and prints
each run, the medians and the median of the pairs' overheads. ``--sqlite-only`` skips
PostgreSQL (and the peer). The databases are the benchmark's own: ``gs_bench_orders`` (dropped at
the end), ``gs_bench_hordak`` (idem) and a SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    City,
    drop_pg_database,
    events_recorded,
    events_side_by_side,
    median_overhead,
    order_amounts,
    print_table,
    recreate_pg_database,
)

from gongsheng.adapters.database import make_engine
from gongsheng.services import registry
from gongsheng.services.batch import place_orders
from gongsheng.services.books import open_books
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork
from gongsheng.views.verification import verify

PG_DB = "gs_bench_orders"
HORDAK_DB = "gs_bench_hordak"


def register_city(url: str, *, regions: int = 6, merchants: int = 300, consumers: int = 3000,
                  seed: int = 7) -> City:
    """Open the books at ``url`` and register a city in one transaction.

    Regions each have a partner with two promoters; eight BMs; merchants spread over the regions
    (most with a BM contract and a promoter, some without so vacant parts occur); consumers with
    a referrer (half) and a home merchant (most).
    """
    rng = random.Random(seed)
    engine = open_books(url)
    with UnitOfWork(engine) as uow:
        region_ids, promoter_ids = [], []
        for r in range(regions):
            region = registry.create_region(uow, f"district {r}", "district", None, 1_000)
            region_ids.append(region)
            partner = registry.create_partner(uow, f"partner {r}", region, 5_000_000_00)
            promoter_ids += [registry.create_promoter(uow, f"promoter {r}.{k}", partner)
                             for k in range(2)]
        bms = [registry.create_business_manager(uow, f"bm {k}") for k in range(8)]
        merchant_ids = []
        for k in range(merchants):
            bound = rng.random() < 0.9
            merchant_ids.append(registry.create_merchant(uow, registry.MerchantTerms(
                name=f"merchant {k}", category=rng.choice(["catering", "retail", "services"]),
                channel=rng.choice(["alliance", "alliance", "brand", "mall"]),
                region_id=rng.choice(region_ids),
                concession_rate=rng.choice(["0.10", "0.12", "0.15", "0.20"]),
                accepts_vouchers=True,
                bm_id=rng.choice(bms) if bound else None,
                bm_rate=rng.choice(["0.01", "0.02"]) if bound else None,
                promoter_id=rng.choice(promoter_ids) if rng.random() < 0.8 else None)))
        consumer_ids: list[int] = []
        for k in range(consumers):
            referrer = rng.choice(consumer_ids) if consumer_ids and rng.random() < 0.5 else None
            home = rng.choice(merchant_ids) if rng.random() < 0.8 else None
            consumer_ids.append(registry.create_consumer(uow, f"consumer {k}", referrer, home))
        uow.commit()
    engine.dispose()
    return City(tuple(merchant_ids), tuple(consumer_ids))


def requests_for(city: City, worker: int, tag: str, n: int, seed: int) -> list[OrderRequest]:
    """``n`` distinct orders (unique idempotency keys) by random consumers at random merchants."""
    rng = random.Random(seed * 1000 + worker)
    amounts = order_amounts(rng, n)
    return [OrderRequest(rng.choice(city.consumers), rng.choice(city.merchants), amounts[i], 0,
                         f"{tag}-w{worker}-{i}") for i in range(n)]


@dataclass(frozen=True)
class Run:
    """What one worker did: orders placed, the seconds it took, and the CPU seconds it and its
    database backend spent (the backend's: PostgreSQL only, 0 on SQLite, which runs in the
    worker)."""

    orders: int
    seconds: float
    app_cpu: float
    db_cpu: float


@dataclass(frozen=True)
class Rate:
    """Orders per second of a run, over its slowest worker's time, and the CPU milliseconds
    an order cost the workers and their database backends. On a shared machine the rate moves
    with whatever else runs; the CPU an order costs moves far less: it is the figure to compare
    between two checkouts measured at different times."""

    per_second: float
    app_ms: float
    db_ms: float


class _Meter:
    """The CPU of this worker process and of its connection's PostgreSQL backend."""

    def __init__(self, engine: Engine) -> None:
        self.backend = None
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:  # the pool's one connection, reused by every order
                self.backend = psutil.Process(int(conn.exec_driver_sql(
                    "SELECT pg_backend_pid()").scalar_one()))
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        db = 0.0
        if self.backend is not None:
            times = self.backend.cpu_times()
            db = times.user + times.system
        return time.process_time(), db

    def spent(self) -> tuple[float, float]:
        now = self._now()
        return now[0] - self.start[0], now[1] - self.start[1]


def _single_worker(url: str, reqs: list[OrderRequest], seconds: float, barrier: Barrier,
                   out: Any) -> None:
    engine = make_engine(url)
    platform = Platform(engine)
    platform.order(reqs[0])  # warm the pool, the policy cache and the compiled statements
    barrier.wait()
    meter = _Meter(engine)
    start = time.perf_counter()
    deadline = start + seconds
    done = 1
    for req in reqs[1:]:
        platform.order(req)
        done += 1
        if time.perf_counter() > deadline:
            break
    out.put(Run(done - 1, time.perf_counter() - start, *meter.spent()))
    engine.dispose()


def _batch_worker(url: str, reqs: list[OrderRequest], seconds: float, barrier: Barrier,
                  out: Any, batch_size: int) -> None:
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:  # warm-up batch
        place_orders(uow, reqs[:batch_size])
        uow.commit()
    barrier.wait()
    meter = _Meter(engine)
    start = time.perf_counter()
    deadline = start + seconds
    done = 0
    for i in range(batch_size, len(reqs), batch_size):
        chunk = reqs[i:i + batch_size]
        with UnitOfWork(engine) as uow:
            results = place_orders(uow, chunk)
            uow.commit()
        done += sum(1 for r in results if not isinstance(r, Exception))
        if time.perf_counter() > deadline:
            break
    out.put(Run(done, time.perf_counter() - start, *meter.spent()))
    engine.dispose()


def run_workers(target: Callable[..., None], args_for: Callable[[int], tuple[Any, ...]],
                workers: int) -> Rate:
    """Start ``workers`` processes together; orders per second over the slowest worker's time,
    and the CPU an order cost."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers)
    out = ctx.Queue()
    procs = []
    for w in range(workers):
        url, reqs, seconds, *extra = args_for(w)
        procs.append(ctx.Process(target=target, args=(url, reqs, seconds, barrier, out, *extra)))
    for p in procs:
        p.start()
    runs = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a worker failed with exit code {p.exitcode}")
    placed = sum(r.orders for r in runs)
    return Rate(placed / max(r.seconds for r in runs),
                1000 * sum(r.app_cpu for r in runs) / max(placed, 1),
                1000 * sum(r.db_cpu for r in runs) / max(placed, 1))


def measure(url: str, city: City, workers: int, n: int, seconds: float, tag: str,
            batch_size: int = 0, *, events: bool = True) -> Rate:
    """Orders/s of ``workers`` processes, one commit per order or ``batch_size`` per commit,
    recording events or not."""
    with events_recorded(events):
        return _measure(url, city, workers, n, seconds, f"{tag}{'' if events else '-x'}", batch_size)


def _measure(url: str, city: City, workers: int, n: int, seconds: float, tag: str,
             batch_size: int) -> Rate:
    per_worker = n // workers
    if batch_size:
        per_worker = n // workers + batch_size
        return run_workers(
            _batch_worker,
            lambda w: (url, requests_for(city, w, tag, per_worker, 11), seconds, batch_size),
            workers)
    return run_workers(
        _single_worker,
        lambda w: (url, requests_for(city, w, tag, per_worker + 1, 13), seconds), workers)


def _run_once(url: str, city: City, workers: int, n: int, seconds: float, kind: str,
              batch_size: int, cpu: dict[bool, list[Rate]], events: bool, repeat: int) -> float:
    """One measurement of a run, its orders tagged by kind, workers and repeat; its rate is
    kept in ``cpu[events]`` too (for the CPU an order cost)."""
    rate = measure(url, city, workers, n, seconds, f"{kind[0]}{workers}r{repeat}", batch_size,
                   events=events)
    cpu.setdefault(events, []).append(rate)
    return rate.per_second


def cpu_cell(rates: list[Rate]) -> str:
    """The median CPU milliseconds an order cost the workers and their database backends."""
    if not rates:
        return ""
    return (f"{statistics.median(r.app_ms for r in rates):.2f} + "
            f"{statistics.median(r.db_ms for r in rates):.2f}")


def check_books(url: str) -> str:
    """``verify`` after the runs: every invariant must hold."""
    engine = make_engine(url)
    failing = [c.name for c in verify(Platform(engine)) if not c.ok]
    engine.dispose()
    return "ok" if not failing else "FAILED: " + "; ".join(failing)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=6_000,
                        help="orders per one-commit-per-order run (split over the workers)")
    parser.add_argument("--seconds", type=float, default=8.0, help="time bound of each run")
    parser.add_argument("--batch-orders", type=int, default=60_000,
                        help="orders per batch run (split over the workers)")
    parser.add_argument("--batch-size", type=int, default=1_000, help="orders per commit")
    parser.add_argument("--skip-peer", action="store_true", help="do not run django-hordak")
    parser.add_argument("--no-events", action="store_true",
                        help="record no events (UnitOfWork.record a no-op)")
    parser.add_argument("--compare-events", action="store_true",
                        help="measure each run with and without events, and the overhead")
    parser.add_argument("--repeats", type=int, default=3,
                        help="with --compare-events: pairs of runs (on and off) per measurement")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args(argv)
    modes = (True, False) if args.compare_events else (not args.no_events,)
    if args.sqlite_only:
        args.skip_peer = True

    tmp = tempfile.TemporaryDirectory(prefix="gs_bench_")
    targets = {} if args.sqlite_only else {"PostgreSQL": recreate_pg_database(PG_DB)}
    targets["SQLite"] = f"sqlite:///{Path(tmp.name) / 'orders.db'}"
    rows: list[list[object]] = []
    figures: dict[tuple[str, str, int], float] = {}
    try:
        for name, url in targets.items():
            t0 = time.perf_counter()
            city = register_city(url)
            print(f"{name}: city of {len(city.merchants)} merchants, {len(city.consumers)} "
                  f"consumers registered in {time.perf_counter() - t0:.1f} s", flush=True)
            runs = [("single", "1 order / commit", w, args.orders, 0) for w in (1, 2)]
            runs += [("batch", f"batch of {args.batch_size} / commit", w, args.batch_orders,
                      args.batch_size) for w in ((1, 2) if name == "PostgreSQL" else (1,))]
            for kind, label, workers, n, size in runs:
                cpu: dict[bool, list[Rate]] = {}
                once = partial(_run_once, url, city, workers, n, args.seconds, kind, size, cpu)

                if len(modes) == 1:
                    rate = figures[(name, kind, workers)] = once(modes[0], 0)
                    rows.append([name, label, workers, "on" if modes[0] else "off",
                                 f"{rate:,.0f}", "", cpu_cell(cpu[modes[0]]), ""])
                    print(f"  {rows[-1][:7]}", flush=True)
                    continue
                on, off = events_side_by_side(once, args.repeats)
                figures[(name, kind, workers)] = statistics.median(on)
                for events, rates in ((True, on), (False, off)):
                    rows.append([name, label, workers, "on" if events else "off",
                                 f"{statistics.median(rates):,.0f}",
                                 " ".join(f"{r:,.0f}" for r in rates), cpu_cell(cpu[events]),
                                 ""])
                    print(f"  {rows[-1][:7]}", flush=True)
                rows[-1][-1] = median_overhead(on, off)
            rows.append([name, "verify after the runs", "", "", check_books(url), "", "", ""])
        print_table("gongsheng: orders per second (each order its whole 8+-leg waterfall; CPU ms "
                    "an order cost its worker + its PostgreSQL backend, medians)",
                    ["database", "mode", "workers", "events", "orders/s", "each run",
                     "CPU ms/order", "events overhead"],
                    rows)
        if not args.skip_peer:
            from _hordak import measure_hordak, prepare_database

            peer_url = recreate_pg_database(HORDAK_DB)
            prepare_database(peer_url)
            peer_rows = []
            for workers in (1, 2):
                peer = measure_hordak(peer_url, workers, args.orders, args.seconds)
                ours = figures[("PostgreSQL", "single", workers)]
                peer_rows.append([workers, f"{ours:,.0f}", f"{peer:,.0f}", f"{ours / peer:.2f}x"])
            print_table("PostgreSQL, one transaction per order: gongsheng vs django-hordak 2.0.0 "
                        "(8-leg transactions)",
                        ["workers", "gongsheng/s", "hordak/s", "ratio"], peer_rows)
    finally:
        if not args.sqlite_only:
            drop_pg_database(PG_DB)
        if not args.skip_peer:
            drop_pg_database(HORDAK_DB)
        tmp.cleanup()


if __name__ == "__main__":
    main()
