"""Webhook deliveries: events delivered per second by one worker, and the lag from commit to
delivery (p50, p99), to a receiver on loopback.

    .venv/bin/python benchmarks/webhooks.py [--backlog 2000] [--rate 50] [--seconds 10]

For PostgreSQL (``gs_bench_webhooks``) and a SQLite file: a small city, one subscription to
``order.placed``, then

- **throughput**: ``--backlog`` orders committed first, then one worker (``entrypoints/worker``,
  the process ``gongsheng worker`` runs) delivers them all: deliveries per second;
- **lag**: the worker running while orders are placed at ``--rate`` per second for
  ``--seconds``: the time from each order's commit to its arrival at the receiver.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import drop_pg_database, print_table, recreate_pg_database

from gongsheng.entrypoints.worker import Worker
from gongsheng.services import webhooks
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms
from gongsheng.settings import Settings


class Receiver:
    """Records the arrival time of each order id."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.arrived[json.loads(body)["data"]["order_id"]] = time.perf_counter()
                self.send_response_only(204)
                self.send_header("content-length", "0")
                self.end_headers()  # one write: headers are buffered until here

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrived) < n and time.monotonic() < deadline:
            time.sleep(0.005)


def city(plat: Platform) -> tuple[int, list[int]]:
    region = plat.region("Bench", "city", merchant_universe=100)
    partner = plat.partner("P", region, 1_000_000)
    merchant = plat.merchant(MerchantTerms("M", "catering", "alliance", region, "0.10"))
    del partner
    return merchant, [plat.consumer(f"C{i}") for i in range(20)]


def run(url: str, label: str, args: argparse.Namespace) -> list[list[object]]:
    plat = Platform.open(url)
    try:
        merchant, consumers = city(plat)
        receiver = Receiver()
        plat.run(webhooks.create_subscription, receiver.url, ["order.placed"],
                 now_ms=int(time.time() * 1000), allow_private=True)
        settings = Settings(webhooks_allow_private=True, webhooks_poll_seconds=0.01)
        for i in range(args.backlog):
            plat.order(OrderRequest(consumers[i % len(consumers)], merchant, 1_000 + i, 0, f"b{i}"))
        worker = Worker(plat, settings)
        start = time.perf_counter()
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        receiver.wait_for(args.backlog)
        elapsed = time.perf_counter() - start
        throughput = len(receiver.arrived) / elapsed
        committed: dict[int, float] = {}
        until = time.monotonic() + args.seconds
        i = 0
        while time.monotonic() < until:
            order = plat.order(OrderRequest(consumers[i % len(consumers)], merchant, 5_000 + i, 0,
                                            f"l{i}"))
            committed[order.order_id] = time.perf_counter()
            i += 1
            time.sleep(max(0.0, 1 / args.rate - 0.001))
        receiver.wait_for(args.backlog + len(committed), timeout=60)
        worker.stop()
        thread.join()
        lags = sorted((receiver.arrived[o] - t) * 1000 for o, t in committed.items()
                      if o in receiver.arrived)
        p50 = statistics.median(lags) if lags else float("nan")
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
        return [[label, args.backlog, f"{throughput:,.0f}", len(lags), f"{p50:.1f}", f"{p99:.1f}",
                 len(committed) - len(lags)]]
    finally:
        plat.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    rows: list[list[object]] = []
    name = "gs_bench_webhooks"
    try:
        rows += run(recreate_pg_database(name), "PostgreSQL", args)
    finally:
        drop_pg_database(name)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            rows += run(f"sqlite:///{os.path.join(tmp, 'bench.db')}", "SQLite", args)
    print_table("Webhook deliveries by one worker to a loopback receiver",
                ["database", "backlog", "delivered / s", "lag samples", "lag p50 ms",
                 "lag p99 ms", "not delivered"], rows)


if __name__ == "__main__":
    main()
