"""Orders per second and latency through the HTTP API (``gongsheng serve``) on PostgreSQL.

(Not ``http.py``: a module of that name in this folder would shadow the standard library's
``http`` package for every benchmark run from here, Django's and httpx's imports included.)

Run: ``.venv/bin/python benchmarks/http_api.py [--orders N] [--seconds S] [--connections C]
[--reuse R] [--workers W]``

1. Creates the benchmark database ``gs_bench_http`` and its first admin (``gongsheng admin
   create``), then starts ``gongsheng serve`` on it (uvicorn, ``--workers`` processes) on a free
   127.0.0.1 port.
2. Registers a city through the API as the admin: regions with a partner, business managers,
   merchants (each with its own login) and consumers (half referred, most with a home merchant).
3. Load: ``--connections`` keep-alive connections on loopback, each posting orders
   (``POST /api/v1/orders`` with an ``Idempotency-Key``) as the merchant it reports for, one
   request at a time, until ``--orders`` are placed or ``--seconds`` have passed. Each
   connection is closed and opened again after ``--reuse`` requests, as HTTP clients and
   proxies recycle theirs: the workers share one listening socket and a connection stays with
   the worker that accepted it, so a fixed set of connections opened at once is dealt out
   unevenly (7 to one worker and 1 to the other was seen), and one worker's core then bounds
   the run while the other idles. The client is
   a minimal HTTP/1.1 writer/reader on asyncio streams (a general client such as httpx spends
   about as much CPU per request as the server on this 2-core machine, and would measure
   itself). Every response must be 201; anything else stops the run.
4. Prints orders/s, p50/p90/p99/max latency and the CPU per order of the server's processes
   (uvicorn's master and workers: "app") and of the PostgreSQL backends serving them ("db"), then stops the
   server and drops the database. The CPU per order is the figure to compare between two
   checkouts on a busy machine (throughput moves with whatever else runs); the same file
   measures another checkout: ``PYTHONPATH=/path/to/checkout/src .venv/bin/python
   benchmarks/http_api.py``.

Events: by default the server records every order's ``order.placed`` event, as in production;
``--no-events`` starts it with ``UnitOfWork.record`` a no-op (``benchmarks/_no_events``), and
``--compare-events`` runs the whole benchmark ``--repeats`` times both ways (each run on a fresh
database; pairs alternate which mode goes first: on-off, off-on, ...), prints every run, the
medians and the median of the pairs' overheads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CpuTimes,
    cpu_times,
    drop_pg_database,
    events_side_by_side,
    median_overhead,
    order_amounts,
    print_table,
    recreate_pg_database,
    server_env,
)

DB = "gs_bench_http"
VENV_BIN = Path(sys.executable).parent
API = "/api/v1"
PASSWORD = "bench-password-1"


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound and released by the OS)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Shop:
    """A merchant the load posts orders for, with its bearer token."""

    merchant_id: int
    token: str


def register_city(base: str, admin_token: str, *, regions: int, merchants: int, consumers: int,
                  seed: int, consumer_logins: bool = False) -> tuple[list[Shop], list[int]]:
    """Regions with partners, BMs, merchants with logins, consumers (with logins
    ``consumer<k>`` if ``consumer_logins``): all through the API."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base + API, timeout=60,
                      headers={"Authorization": f"Bearer {admin_token}"}) as client:
        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            response = client.post(path, json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
            result: dict[str, object] = response.json()
            return result

        region_ids = []
        for r in range(regions):
            region = post("/regions", {"name": f"district {r}", "level": "district"})["region_id"]
            post("/partners", {"name": f"partner {r}", "region_id": region,
                               "investment_fen": 1_000_000_00})
            region_ids.append(region)
        bms = [post("/business-managers", {"name": f"bm {k}"})["party_id"] for k in range(3)]
        shops = []
        for k in range(merchants):
            bound = rng.random() < 0.8
            merchant = post("/merchants", {
                "name": f"merchant {k}", "category": rng.choice(["catering", "retail"]),
                "channel": rng.choice(["alliance", "brand", "mall"]),
                "region_id": rng.choice(region_ids),
                "concession_rate": rng.choice(["0.10", "0.15", "0.20"]),
                "bm_id": rng.choice(bms) if bound else None,
                "bm_rate": "0.02" if bound else None,
                "login": {"username": f"merchant{k}", "password": PASSWORD}})["party_id"]
            assert isinstance(merchant, int)
            shops.append(merchant)
        consumer_ids: list[int] = []
        for k in range(consumers):
            referrer = rng.choice(consumer_ids) if consumer_ids and rng.random() < 0.5 else None
            home = rng.choice(shops) if rng.random() < 0.8 else None
            login = {"login": {"username": f"consumer{k}", "password": PASSWORD}} if consumer_logins else {}
            cid = post("/consumers", {"name": f"consumer {k}", "referrer_id": referrer,
                                      "home_merchant_id": home, **login})["party_id"]
            assert isinstance(cid, int)
            consumer_ids.append(cid)
        tokens = []
        for k, merchant in enumerate(shops):
            response = client.post("/auth/token", data={"username": f"merchant{k}",
                                                        "password": PASSWORD})
            response.raise_for_status()
            tokens.append(Shop(merchant, response.json()["access_token"]))
    return tokens, consumer_ids


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(port: int, jobs: list[bytes], deadline: float, latencies: list[float],
                      reuse: int) -> None:
    """Send ``jobs`` (ready requests) one after another on a keep-alive connection, opened
    again after every ``reuse`` requests (as HTTP clients and proxies recycle theirs)."""
    for first in range(0, len(jobs), reuse):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in jobs[first:first + reuse]:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                writer.write(request)
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - start)
                if status != 201:
                    raise RuntimeError(f"order refused: {status} {body[:300]!r}")
        finally:
            writer.close()
            await writer.wait_closed()


def order_request(port: int, shop: Shop, consumer: int, amount: int, key: str) -> bytes:
    body = json.dumps({"consumer_id": consumer, "merchant_id": shop.merchant_id,
                       "amount_fen": amount}).encode()
    return (f"POST {API}/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {shop.token}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def load(port: int, shops: list[Shop], consumers: list[int], *, orders: int,
               connections: int, reuse: int, seconds: float, tag: str,
               seed: int) -> tuple[int, float, list[float]]:
    """Place up to ``orders`` over ``connections``; ``(placed, seconds, latencies)``."""
    rng = random.Random(seed)
    amounts = order_amounts(rng, orders)
    per = [[order_request(port, shop := rng.choice(shops), rng.choice(consumers), amounts[i],
                          f"{tag}-{c}-{i}")
            for i in range(c, orders, connections)] for c in range(connections)]
    del shop
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, jobs, start + seconds, latencies, reuse)
                           for jobs in per))
    return len(latencies), time.perf_counter() - start, latencies


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gongsheng serve exited with code {server.returncode}")
        try:
            if httpx.get(base + "/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gongsheng serve did not answer in time")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop uvicorn (its master stops the workers on SIGINT); kill it if it does not go."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def check_events(url: str, *, expected: bool) -> None:
    """The run recorded order events exactly when it should have (the switch took effect)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        placed = conn.execute(text("SELECT count(*) FROM events WHERE type = 'order.placed'")).scalar()
    engine.dispose()
    if bool(placed) != expected:
        raise RuntimeError(f"{placed} order events recorded in a run with events "
                           f"{'on' if expected else 'off'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=8_000, help="orders to place at most")
    parser.add_argument("--seconds", type=float, default=15.0, help="time bound of the load")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--reuse", type=_at_least_one, default=100,
                        help="requests per connection before the client opens a new one (>= 1)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--merchants", type=int, default=40)
    parser.add_argument("--consumers", type=int, default=200)
    parser.add_argument("--no-events", action="store_true",
                        help="the server records no events (UnitOfWork.record a no-op)")
    parser.add_argument("--compare-events", action="store_true",
                        help="run with and without events and print the overhead")
    parser.add_argument("--repeats", type=int, default=2,
                        help="with --compare-events: pairs of runs (on and off), each on a fresh "
                             "database, alternating which goes first")
    args = parser.parse_args(argv)
    rows: list[list[object]] = []

    def once(events: bool, repeat: int) -> float:
        m = run(args, events=events)
        latencies = sorted(m.latencies)
        ms = [f"{1000 * percentile(latencies, q):.1f}" for q in (0.5, 0.9, 0.99)]
        rows.append(["on" if events else "off", repeat + 1, m.placed, f"{m.seconds:.1f}",
                     f"{m.placed / m.seconds:,.0f}", *ms, f"{1000 * latencies[-1]:.1f}",
                     f"{1000 * m.cpu.app / m.placed:.2f}", f"{1000 * m.cpu.db / m.placed:.2f}"])
        return m.placed / m.seconds

    columns = ["events", "pair", "orders", "s", "orders/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
               "app CPU ms/order", "db CPU ms/order"]
    if args.compare_events:
        on, off = events_side_by_side(once, args.repeats)
        rows.sort(key=lambda r: (r[0] != "on", r[1]))
        print_table("HTTP API on PostgreSQL: POST /api/v1/orders", columns, rows)
        print(f"median orders/s: events on {statistics.median(on):,.0f}, off "
              f"{statistics.median(off):,.0f}; events overhead (median of the pairs' own) "
              f"{median_overhead(on, off)}")
    else:
        once(not args.no_events, 0)
        print_table("HTTP API on PostgreSQL: POST /api/v1/orders", columns, rows)


@dataclass(frozen=True)
class Measured:
    """One load: orders placed, seconds, latencies, and the CPU the server and the database
    spent on it."""

    placed: int
    seconds: float
    latencies: list[float]
    cpu: CpuTimes


@dataclass(frozen=True)
class Served:
    """A running ``gongsheng serve`` on a fresh database: its URL, port, base address, the
    admin's token and the server process."""

    url: str
    port: int
    base: str
    admin_token: str
    server: subprocess.Popen[bytes]


@contextmanager
def gongsheng_serve(url: str, workers: int, env: dict[str, str]
                    ) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """``gongsheng serve`` on the database ``url`` with ``workers`` uvicorn processes on a free
    loopback port, in the environment ``env`` (the URL added to it: the command line, which
    ``ps`` shows, does not carry it); its base address, port and process, stopped at the end."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(VENV_BIN / "gongsheng"), "serve", "--port", str(port), "--workers", str(workers)],
        env={**env, "GONGSHENG_DB": url}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base, server)
        yield base, port, server
    finally:
        stop(server)


def server_settings(secret: str) -> dict[str, str]:
    """This process's environment with a benchmark server's settings: ``secret`` as its key,
    and sign-in unlimited (every party signs in from this one address)."""
    return {**os.environ, "GONGSHENG_SECRET_KEY": secret, "GONGSHENG_MODE": "dev",
            "GONGSHENG_SIGN_IN_LIMIT_PER_ADDRESS": "100000/minute"}


@contextmanager
def serving(db: str, workers: int, *, events: bool = True) -> Iterator[Served]:
    """A fresh database ``db`` with its first admin, served by ``gongsheng serve`` with
    ``workers`` uvicorn processes on a free loopback port (events recorded or not); stopped and
    dropped at the end."""
    url = recreate_pg_database(db)
    env = server_env({**server_settings("bench-" + "k" * 40), "GONGSHENG_DB": url,
                      "GONGSHENG_ADMIN_PASSWORD": PASSWORD}, events)
    try:
        subprocess.run([str(VENV_BIN / "gongsheng"), "admin", "create", "admin"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        with gongsheng_serve(url, workers, env) as (base, port, server):
            token = httpx.post(base + API + "/auth/token", timeout=30,
                               data={"username": "admin", "password": PASSWORD}
                               ).json()["access_token"]
            yield Served(url, port, base, token, server)
    finally:
        drop_pg_database(db)


def run(args: argparse.Namespace, *, events: bool) -> Measured:
    """One benchmark on a fresh database."""
    with serving(DB, args.workers, events=events) as served:
        url, port, server = served.url, served.port, served.server
        t0 = time.perf_counter()
        shops, consumers = register_city(served.base, served.admin_token, regions=3,
                                         merchants=args.merchants, consumers=args.consumers, seed=7)
        print(f"city of {len(shops)} merchants, {len(consumers)} consumers registered through "
              f"the API in {time.perf_counter() - t0:.1f} s; load: {args.connections} "
              f"connections, {args.workers} uvicorn workers, events {'on' if events else 'off'}",
              flush=True)
        # warm-up: every worker's pool, prepared statements and policy cache (not counted)
        asyncio.run(load(port, shops, consumers, orders=20 * args.connections,
                         connections=args.connections, reuse=args.reuse, seconds=args.seconds,
                         tag="warm", seed=1))
        before = cpu_times([server.pid], DB)
        placed, seconds, latencies = asyncio.run(load(
            port, shops, consumers, orders=args.orders, connections=args.connections,
            reuse=args.reuse, seconds=args.seconds, tag="run", seed=2))
        cpu = cpu_times([server.pid], DB) - before
        check_events(url, expected=events)
        return Measured(placed, seconds, latencies, cpu)


if __name__ == "__main__":
    main()
