"""One merchant's flood of 1-fen refunds against another merchant's payouts and refunds.

Run: ``.venv/bin/python benchmarks/refund_flood.py [--flood-workers 3] [--timed 200] [--orders 150]``

On PostgreSQL (``gs_bench_refund_flood``, dropped at the end), a city with two alliance merchants
in one region: merchant A (the flood) and merchant B (timed), each with ``--orders`` orders of
1,000 yuan from their own consumers, under the default policy without holds
(``payouts.hold_periods = 0``: B's cash is withdrawable at once), so the dividend pool holds
about 13,500 yuan and B's cash about 120,000 yuan. Then:

1. **idle**: ``--timed`` payouts of 1 yuan by B (``Platform.withdraw``), one after another, and
   ``--timed`` refunds of 1 fen of B's orders (``Platform.refund``), each its own transaction;
2. **under flood**: ``--flood-workers`` processes refund 1 fen of A's orders in a loop (each
   refund its own transaction and key) while the same payouts and refunds of B are timed again.

Prints p50 / p99 / max per operation, idle and under flood, the flood's refunds/s, and
``gongsheng verify`` on the database afterwards. The benchmark uses only ``Platform``'s
methods and ``views.verification.verify``, so the same file measures another checkout of the
engine that has them:
``PYTHONPATH=/path/to/checkout/src .venv/bin/python benchmarks/refund_flood.py``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_database, print_table, recreate_pg_database

import gongsheng
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.domain.policy import Policy
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms
from gongsheng.views.verification import verify

DB = "gs_bench_refund_flood"
ORDER_FEN = 100_000  # 1,000 yuan


def unheld_policy() -> Policy:
    """The default policy with ``payouts.hold_periods = 0``: B's earnings of the open period are
    withdrawable at once, so its payouts can be timed without closing a period (which would
    release the pool the refunds take back from)."""
    text = default_policy_text()
    if "hold_periods = 1\n" not in text:
        raise RuntimeError("the default policy no longer sets payouts.hold_periods = 1")
    return parse_policy_text(text.replace("hold_periods = 1\n", "hold_periods = 0\n", 1))


def build(url: str, orders: int) -> tuple[int, int, list[int], list[int]]:
    """Merchants A and B with ``orders`` orders each; ``(A, B, A's orders, B's orders)``."""
    plat = Platform.open(url, unheld_policy())
    region = plat.region("Flood City", "city", merchant_universe=1_000)
    plat.partner("Partner", region, 0)
    merchants = [plat.merchant(MerchantTerms(f"Merchant {n}", "catering", "alliance", region,
                                             "0.15")) for n in "AB"]
    placed: list[list[int]] = [[], []]
    for side, merchant in enumerate(merchants):
        consumers = [plat.consumer(f"Consumer {side}-{i}") for i in range(20)]
        for i in range(orders):
            result = plat.order(OrderRequest(consumers[i % len(consumers)], merchant, ORDER_FEN,
                                             0, f"order-{side}-{i}"))
            placed[side].append(result.order_id)
    plat.engine.dispose()
    return merchants[0], merchants[1], placed[0], placed[1]


def _flood(url: str, worker: int, order_ids: list[int], stop: Event, counts: mp.Queue[int]) -> None:
    """Refund 1 fen of A's orders, round robin, until told to stop; report how many."""
    plat = Platform.open(url)
    n = 0
    while not stop.is_set():
        plat.refund(order_ids[(worker + n * 7) % len(order_ids)], 1, f"flood-{worker}-{n}")
        n += 1
    counts.put(n)
    plat.engine.dispose()


def timed(run: Callable[[int], object], n: int) -> list[float]:
    """Milliseconds of each of ``n`` calls ``run(i)``, one after another."""
    out = []
    for i in range(n):
        start = time.perf_counter()
        run(i)
        out.append((time.perf_counter() - start) * 1_000)
    return out


def figures(label: str, ms: list[float]) -> list[object]:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return [label, len(ms), f"{statistics.median(ms):.1f}", f"{q[98]:.1f}", f"{max(ms):.1f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-workers", type=int, default=3)
    parser.add_argument("--timed", type=int, default=200)
    parser.add_argument("--orders", type=int, default=150)
    args = parser.parse_args(argv)
    print(f"engine: {Path(gongsheng.__file__).resolve().parent}")
    url = recreate_pg_database(DB)
    try:
        merchant_a, merchant_b, orders_a, orders_b = build(url, args.orders)
        plat = Platform.open(url)
        tag = iter(range(10**9))

        def payout(_: int) -> object:
            return plat.withdraw(merchant_b, 100, f"payout-{next(tag)}")

        def refund(i: int) -> object:
            return plat.refund(orders_b[i % len(orders_b)], 1, f"b-refund-{next(tag)}")

        rows = [figures("B payout, idle", timed(payout, args.timed)),
                figures("B refund, idle", timed(refund, args.timed))]
        ctx = mp.get_context("fork")
        stop, counts = ctx.Event(), ctx.Queue()
        flood = [ctx.Process(target=_flood, args=(url, w, orders_a, stop, counts))
                 for w in range(args.flood_workers)]
        for proc in flood:
            proc.start()
        time.sleep(1.0)  # the flood is under way
        started = time.perf_counter()
        rows += [figures("B payout, A floods", timed(payout, args.timed)),
                 figures("B refund, A floods", timed(refund, args.timed))]
        stop.set()
        done = sum(counts.get(timeout=60) for _ in flood)
        elapsed = time.perf_counter() - started + 1.0
        for proc in flood:
            proc.join(30)
        print_table(f"Merchant B's writes while merchant A refunds 1 fen at a time "
                    f"({args.flood_workers} processes)", ["operation", "n", "p50 ms", "p99 ms",
                                                         "max ms"], rows)
        print(f"\nflood: {done} refunds of merchant {merchant_a} in {elapsed:.1f} s "
              f"({done / elapsed:.0f}/s)")
        failed = [c.name for c in verify(plat) if not c.ok]
        print(f"verify: {'ok' if not failed else 'FAILED ' + ', '.join(failed)}")
        plat.engine.dispose()
    finally:
        drop_pg_database(DB)


if __name__ == "__main__":
    main()
