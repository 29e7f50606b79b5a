"""Voucher-spending orders and refunds per second, each measured while cash orders run.

Run: ``.venv/bin/python benchmarks/mixed.py [--workers 2] [--seconds 10] [--history 40000]``

On PostgreSQL (``gs_bench_mixed``, dropped at the end):

1. **Books with vouchers.** A city (``orders.register_city``: 300 merchants, 3,000 consumers,
   every merchant accepting vouchers), ``--history`` cash orders placed through the batch path,
   then two period closes: they release vouchers to every holder, so consumers hold vouchers
   to spend, and the history's orders are of a closed period (a refund of one takes back
   released vouchers: the clawback path).
2. **Cash only.** One process places cash orders (``Platform.order``, one commit each) for
   ``--seconds``: the reference rate.
3. **Voucher orders under cash orders.** The cash process runs on while ``--workers``
   processes place voucher-spending orders: for each, the consumer's pay code
   (``Platform.pay_code``, the consumer's consent, its own transaction, as an app issues it) and
   the order paying part with vouchers (``Platform.order`` with the code). A voucher order is
   counted with its pay code.
4. **Refunds under cash orders.** The same, with ``--workers`` processes refunding 1 yuan of
   distinct history orders (``Platform.refund``, one commit each), spread over all merchants.

5. **Alone** (``--alone N``, first, before the phases above): one process, nothing beside it,
   places ``N`` voucher orders and ``N`` refunds one after another (not the orders the refund
   phase takes), and prints the milliseconds each took and the SQL statements each sent
   (SQLAlchemy's cursor events; an order's own write goes to psycopg directly and is one
   statement more than the count): the cost of one operation, free of the lock waits above.

Prints per phase the operations, their rate, p50 / p99 latency and the cash orders' rate beside
them, then ``verify``. It uses only ``Platform``'s methods, the batch path and ``views.verification``, so the
same file measures another checkout that has them: ``PYTHONPATH=/path/to/checkout/src .venv/bin/python
benchmarks/mixed.py``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import City, drop_pg_database, order_amounts, print_table, recreate_pg_database
from orders import check_books, register_city, requests_for
from sqlalchemy import event

from gongsheng.adapters.database import make_engine
from gongsheng.services.batch import place_orders
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

DB = "gs_bench_mixed"
VOUCHER_FEN = 100  # each voucher order spends 1 yuan of vouchers
REFUND_FEN = 100  # each refund returns 1 yuan


@dataclass(frozen=True)
class Done:
    """What one process did in a phase: operations, seconds, latencies in milliseconds."""

    ops: int
    seconds: float
    ms: list[float]


def seed_history(url: str, city: City, history: int) -> list[int]:
    """``history`` cash orders through the batch path, then two closes (the first release of a
    period's points is at the close after its own); the orders' ids."""
    engine = make_engine(url)
    ids: list[int] = []
    reqs = requests_for(city, 0, "history", history, 5)
    for first in range(0, len(reqs), 1_000):
        with UnitOfWork(engine) as uow:
            results = place_orders(uow, reqs[first:first + 1_000])
            uow.commit()
        ids += [r.order_id for r in results if not isinstance(r, Exception)]
    plat = Platform(engine)
    plat.close_period()  # points earned in a period release from the next close on
    plat.close_period()
    engine.dispose()
    return ids


def spenders(url: str, consumers: tuple[int, ...], need: int) -> dict[int, int]:
    """Consumers holding vouchers for at least one voucher order, with how many each can pay."""
    plat = Platform(make_engine(url))
    out = {}
    for consumer in consumers:
        count = plat.wallet(consumer).vouchers_fen // VOUCHER_FEN
        if count:
            out[consumer] = count
        if sum(out.values()) >= need:
            break
    plat.engine.dispose()
    return out


def _cash(url: str, city: City, stop: Event, ready: Barrier, out: Any) -> None:
    """Cash orders, one commit each, until ``stop``; reports (orders, seconds) per phase."""
    plat = Platform(make_engine(url))
    reqs = iter(requests_for(city, 99, "cash", 10**6, 17))
    plat.order(next(reqs))
    ready.wait()
    start, n = time.perf_counter(), 0
    while not stop.is_set():
        plat.order(next(reqs))
        n += 1
    out.put(Done(n, time.perf_counter() - start, []))
    plat.engine.dispose()


def _spend(url: str, merchants: tuple[int, ...], budget: list[tuple[int, int]], seconds: float,
           ready: Barrier, out: Any, worker: int) -> None:
    """Voucher orders (pay code, then the order) for ``seconds``."""
    plat = Platform(make_engine(url))
    rng = random.Random(worker)
    queue = [c for c, count in budget for _ in range(count)]
    rng.shuffle(queue)
    amounts = order_amounts(rng, len(queue))
    ready.wait()
    start = time.perf_counter()
    ms = []
    for i, consumer in enumerate(queue):
        t0 = time.perf_counter()
        code = plat.pay_code(consumer, VOUCHER_FEN)
        plat.order(OrderRequest(consumer, rng.choice(merchants), max(amounts[i], VOUCHER_FEN),
                                VOUCHER_FEN, f"spend-{worker}-{i}", pay_code=code.code))
        ms.append((time.perf_counter() - t0) * 1_000)
        if time.perf_counter() - start > seconds:
            break
    out.put(Done(len(ms), time.perf_counter() - start, ms))
    plat.engine.dispose()


def _refund(url: str, order_ids: list[int], seconds: float, ready: Barrier, out: Any,
            worker: int) -> None:
    """Refunds of 1 yuan, one per order of ``order_ids``, for ``seconds``."""
    plat = Platform(make_engine(url))
    ready.wait()
    start = time.perf_counter()
    ms = []
    for i, order_id in enumerate(order_ids):
        t0 = time.perf_counter()
        plat.refund(order_id, REFUND_FEN, f"refund-{worker}-{i}")
        ms.append((time.perf_counter() - t0) * 1_000)
        if time.perf_counter() - start > seconds:
            break
    out.put(Done(len(ms), time.perf_counter() - start, ms))
    plat.engine.dispose()


def alone(url: str, city: City, budget: list[tuple[int, int]], order_ids: list[int],
          n: int) -> list[list[object]]:
    """``n`` voucher orders, then ``n`` refunds of ``order_ids``, in this process alone: per
    operation the median and p99 milliseconds and the statements sent."""
    plat = Platform(make_engine(url))
    sent = [0]
    event.listen(plat.engine, "before_cursor_execute", lambda *_: sent.__setitem__(0, sent[0] + 1))
    rng = random.Random(11)
    spenders_left = [c for c, count in budget for _ in range(count)][:n]

    def spend(i: int) -> None:
        consumer = spenders_left[i]
        code = plat.pay_code(consumer, VOUCHER_FEN)
        plat.order(OrderRequest(consumer, rng.choice(city.merchants), 5_000, VOUCHER_FEN,
                                f"alone-spend-{i}", pay_code=code.code))

    def refund(i: int) -> None:
        plat.refund(order_ids[i], REFUND_FEN, f"alone-refund-{i}")

    rows: list[list[object]] = []
    for label, work, count in (("voucher order (pay code + order)", spend, len(spenders_left)),
                               ("refund of 1 yuan", refund, min(n, len(order_ids)))):
        if not count:
            rows.append([label, 0, "", "", ""])
            continue
        ms, before = [], sent[0]
        for i in range(count):
            t0 = time.perf_counter()
            work(i)
            ms.append((time.perf_counter() - t0) * 1_000)
        ms.sort()
        rows.append([label, count, f"{statistics.median(ms):.1f}",
                     f"{ms[min(count - 1, int(0.99 * count))]:.1f}",
                     f"{(sent[0] - before) / max(count, 1):.1f}"])
    plat.engine.dispose()
    return rows


def phase(url: str, city: City, seconds: float,
          work: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> tuple[list[Done], Done]:
    """Run the cash process beside ``work`` (targets with their arguments, each given
    ``ready`` and the queue after them) for ``seconds``; what each did and the cash process."""
    ctx = mp.get_context("fork")
    ready = ctx.Barrier(len(work) + 2)  # the cash process, the work and this one start together
    stop, out, cash_out = ctx.Event(), ctx.Queue(), ctx.Queue()
    cash = ctx.Process(target=_cash, args=(url, city, stop, ready, cash_out))
    procs = [ctx.Process(target=target, args=(*args[:-1], ready, out, args[-1]))
             for target, args in work]
    cash.start()
    for p in procs:
        p.start()
    ready.wait()
    if not procs:
        time.sleep(seconds)
    done = [out.get() for _ in procs]
    stop.set()
    cash_done = cash_out.get()
    for p in (*procs, cash):
        p.join(30)
        if p.exitcode:
            raise RuntimeError(f"a benchmark process failed with exit code {p.exitcode}")
    return done, cash_done


def row(label: str, workers: int, done: list[Done], cash: Done) -> list[object]:
    ms = sorted(m for d in done for m in d.ms)
    ops = sum(d.ops for d in done)
    rate = ops / max(d.seconds for d in done) if done else 0.0
    p50 = f"{statistics.median(ms):.1f}" if ms else ""
    p99 = f"{ms[min(len(ms) - 1, int(0.99 * len(ms)))]:.1f}" if ms else ""
    return [label, workers, ops, f"{rate:,.0f}", p50, p99, f"{cash.ops / cash.seconds:,.0f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="voucher / refund processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--history", type=int, default=40_000,
                        help="cash orders placed (batch path) before the close")
    parser.add_argument("--alone", type=int, default=0, metavar="N",
                        help="first time N voucher orders and N refunds in one process alone")
    args = parser.parse_args(argv)
    url = recreate_pg_database(DB)
    try:
        t0 = time.perf_counter()
        city = register_city(url)
        history = seed_history(url, city, args.history)
        need = int(args.seconds * 1_000 * args.workers)  # more than any rate here reaches
        budget = list(spenders(url, city.consumers, need).items())
        print(f"books: {len(city.merchants)} merchants, {len(city.consumers)} consumers, "
              f"{len(history):,} orders and two closes, {len(budget):,} consumers with vouchers, "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        if args.alone:
            kept, history = history[-args.alone:], history[:-args.alone]
            budget_alone = [(c, 1) for c, _ in budget[-args.alone:]]
            budget = budget[:-args.alone]
            print_table("PostgreSQL: one process alone, one operation after another",
                        ["operation", "done", "p50 ms", "p99 ms", "statements each"],
                        alone(url, city, budget_alone, kept, args.alone))
        rows = []
        done, cash = phase(url, city, args.seconds, [])
        rows.append(["cash orders only", 0, "", "", "", "", f"{cash.ops / cash.seconds:,.0f}"])
        print(f"  {rows[-1]}", flush=True)
        shares = [budget[w::args.workers] for w in range(args.workers)]
        done, cash = phase(url, city, args.seconds, [
            (_spend, (url, city.merchants, shares[w], args.seconds, w))
            for w in range(args.workers)])
        rows.append(row("voucher orders (pay code + order)", args.workers, done, cash))
        print(f"  {rows[-1]}", flush=True)
        random.Random(3).shuffle(history)
        done, cash = phase(url, city, args.seconds, [
            (_refund, (url, history[w::args.workers], args.seconds, w))
            for w in range(args.workers)])
        rows.append(row("refunds of 1 yuan", args.workers, done, cash))
        verified = check_books(url)
        print_table("PostgreSQL: voucher orders and refunds while one process places cash orders",
                    ["operation", "workers", "done", "per second", "p50 ms", "p99 ms",
                     "cash orders/s beside"], rows)
        print(f"\nverify after the runs: {verified}")
    finally:
        drop_pg_database(DB)


if __name__ == "__main__":
    main()
