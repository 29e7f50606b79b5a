"""A Double-11 day (双十一) through the HTTP API: cash orders and voucher orders, as terminals send them.

Run: ``.venv/bin/python benchmarks/double11.py [--orders 30000] [--voucher-share 0.2]
[--connections 8] [--workers 2] [--merchants 40] [--consumers 400] [--history 4000]``

The seed's peak day is 300 thousand orders, a fifth of them paying part with vouchers; the goal
is that day through the HTTP API in under 10 minutes (500 orders per second). On PostgreSQL
(``gs_bench_double11``):

1. ``gongsheng serve`` (uvicorn, ``--workers`` processes) on a fresh database, its first admin,
   and the city of ``benchmarks/http_api.py`` registered through the API, every consumer with a
   login of its own (signed in once: a consumer's app holds its token).
2. Vouchers to spend: ``--history`` cash orders through the batch path (``batch.place_orders``,
   not timed) and two period closes, which release vouchers to every holder.
3. The day: ``--orders`` orders over ``--connections`` keep-alive connections, one request at a
   time each, a ``--voucher-share`` of them spending 1 yuan of vouchers. A voucher order is what
   a cashier and an app do: the consumer's app asks for a pay code
   (``POST /consumers/{id}/pay-codes`` with the consumer's token: its consent), the terminal
   posts the order with it (``POST /orders`` with ``voucher_fen`` and ``pay_code``, the
   merchant's token). A consumer's voucher orders stay on one connection, one after another (a
   new pay code ends the consumer's older ones). Every answer must be 201.

Prints the day's wall time, orders per second (all, cash, voucher), the latency of each kind
(a voucher order's is its pay code plus its order), the server's and the database's CPU per
order, ``verify`` afterwards, and the time the seed's 300 thousand orders would take at the
measured rate (an extrapolation, stated as such). The default is a tenth of the day.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import City, cpu_times, order_amounts, print_table
from http_api import (
    API,
    PASSWORD,
    Shop,
    _read_response,
    order_request,
    percentile,
    register_city,
    serving,
)
from orders import check_books, requests_for

from gongsheng.adapters.database import make_engine
from gongsheng.services.batch import place_orders
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

DB = "gs_bench_double11"
DAY = 300_000
"""Orders of the seed's peak day."""
GOAL_SECONDS = 600.0
VOUCHER_FEN = 100  # each voucher order spends 1 yuan of vouchers
VOUCHER_ORDER_FEN = 5_000  # at least 50 yuan: the voucher part is well inside the share cap


@dataclass(frozen=True)
class Spender:
    """A consumer with vouchers, its token and how many voucher orders it can pay."""

    consumer_id: int
    token: str
    orders: int


@dataclass
class Tally:
    """Latencies in seconds per kind of order, over the whole load."""

    cash: list[float] = field(default_factory=list)
    voucher: list[float] = field(default_factory=list)


def _request(port: int, method: str, path: str, token: str, body: dict[str, object],
             key: str | None = None) -> bytes:
    data = json.dumps(body).encode()
    idem = f"Idempotency-Key: {key}\r\n" if key else ""
    return (f"{method} {API}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\n{idem}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes, what: str) -> bytes:
    writer.write(request)
    status, body = await _read_response(reader)
    if status != 201:
        raise RuntimeError(f"{what} refused: {status} {body[:300]!r}")
    return body


async def _connection(port: int, jobs: list[tuple[str, object]], tally: Tally, reuse: int) -> None:
    """Run ``jobs`` on one keep-alive connection, opened again after ``reuse`` jobs: a cash
    order is a ready request; a voucher order is ``(spender, shop, amount, key)``."""
    for first in range(0, len(jobs), reuse):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for kind, job in jobs[first:first + reuse]:
                start = time.perf_counter()
                if kind == "cash":
                    assert isinstance(job, bytes)
                    await _exchange(reader, writer, job, "cash order")
                    tally.cash.append(time.perf_counter() - start)
                    continue
                assert isinstance(job, tuple)
                spender, shop, amount, key = job
                code = json.loads(await _exchange(reader, writer, _request(
                    port, "POST", f"/consumers/{spender.consumer_id}/pay-codes", spender.token,
                    {"max_voucher_fen": VOUCHER_FEN, "merchant_id": shop.merchant_id}),
                    "pay code"))["pay_code"]
                await _exchange(reader, writer, _request(port, "POST", "/orders", shop.token, {
                    "consumer_id": spender.consumer_id, "merchant_id": shop.merchant_id,
                    "amount_fen": amount, "voucher_fen": VOUCHER_FEN, "pay_code": code}, key),
                    "voucher order")
                tally.voucher.append(time.perf_counter() - start)
        finally:
            writer.close()
            await writer.wait_closed()


def plan(port: int, shops: list[Shop], consumers: list[int], spenders: list[Spender], *,
         orders: int, voucher_share: float, connections: int, seed: int
         ) -> list[list[tuple[str, object]]]:
    """The day's jobs per connection, in a random order: each spender's voucher orders on one
    connection (spenders dealt out in turn), cash orders spread evenly."""
    rng = random.Random(seed)
    budget = sum(s.orders for s in spenders)
    vouchers = min(round(orders * voucher_share), budget)
    if vouchers < round(orders * voucher_share):
        print(f"note: the consumers hold vouchers for {budget:,} voucher orders only", flush=True)
    per: list[list[tuple[str, object]]] = [[] for _ in range(connections)]
    left = vouchers
    for k, spender in enumerate(spenders):
        take = min(spender.orders, left)
        left -= take
        for j in range(take):
            shop = rng.choice(shops)
            amount = max(VOUCHER_ORDER_FEN, rng.randrange(1_000, 50_000))
            per[k % connections].append(("voucher", (spender, shop, amount, f"v-{spender.consumer_id}-{j}")))
    amounts = order_amounts(rng, orders - vouchers)
    for i, amount in enumerate(amounts):
        per[i % connections].append(
            ("cash", order_request(port, rng.choice(shops), rng.choice(consumers), amount, f"c-{i}")))
    for jobs in per:  # a spender's voucher orders keep their order: only relative to cash orders
        vs = [j for j in jobs if j[0] == "voucher"]
        slots = set(rng.sample(range(len(jobs)), len(vs)))
        cash = iter([j for j in jobs if j[0] == "cash"])
        it = iter(vs)
        jobs[:] = [next(it) if i in slots else next(cash) for i in range(len(jobs))]
    return per


def sign_in(base: str, consumers: list[int]) -> dict[int, str]:
    """Each consumer's token (its username is ``consumer<k>``, ``k`` its place in the list)."""
    tokens = {}
    with httpx.Client(base_url=base + API, timeout=60) as client:
        for k, cid in enumerate(consumers):
            r = client.post("/auth/token", data={"username": f"consumer{k}", "password": PASSWORD})
            r.raise_for_status()
            tokens[cid] = r.json()["access_token"]
    return tokens


def fund(url: str, city: City, history: int) -> None:
    """``history`` cash orders through the batch path, then two closes (vouchers released)."""
    engine = make_engine(url)
    reqs = requests_for(city, 0, "history", history, 5)
    for first in range(0, len(reqs), 1_000):
        with UnitOfWork(engine) as uow:
            place_orders(uow, reqs[first:first + 1_000])
            uow.commit()
    plat = Platform(engine)
    plat.close_period()
    plat.close_period()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=DAY // 10, help="orders of the day")
    parser.add_argument("--voucher-share", type=float, default=0.2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--reuse", type=int, default=100, help="jobs per connection before it is reopened")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--merchants", type=int, default=40)
    parser.add_argument("--consumers", type=int, default=400)
    parser.add_argument("--history", type=int, default=4_000,
                        help="cash orders placed (batch path) before the two closes")
    args = parser.parse_args(argv)
    with serving(DB, args.workers) as served:
        url, port, base, server = served.url, served.port, served.base, served.server
        t0 = time.perf_counter()
        shops, consumers = register_city(base, served.admin_token, regions=3,
                                         merchants=args.merchants, consumers=args.consumers,
                                         seed=7, consumer_logins=True)
        tokens = sign_in(base, consumers)
        fund(url, City(tuple(s.merchant_id for s in shops), tuple(consumers)), args.history)
        plat = Platform(make_engine(url))
        spenders = [Spender(c, tokens[c], plat.wallet(c).vouchers_fen // VOUCHER_FEN)
                    for c in consumers]
        plat.engine.dispose()
        spenders = [s for s in spenders if s.orders]
        print(f"city of {len(shops)} merchants and {len(consumers)} consumers with logins, "
              f"{args.history:,} orders and two closes ({len(spenders)} consumers hold vouchers "
              f"for {sum(s.orders for s in spenders):,} voucher orders) in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        per = plan(port, shops, consumers, spenders, orders=args.orders,
                   voucher_share=args.voucher_share, connections=args.connections, seed=2)
        tally = Tally()
        before = cpu_times([server.pid], DB)
        start = time.perf_counter()
        asyncio.run(_gather(port, per, tally, args.reuse))
        seconds = time.perf_counter() - start
        cpu = cpu_times([server.pid], DB) - before
        placed = len(tally.cash) + len(tally.voucher)
        rows = []
        for label, lat in (("cash orders", tally.cash), ("voucher orders (pay code + order)",
                                                         tally.voucher)):
            s = sorted(lat)
            rows.append([label, len(s), f"{len(s) / seconds:,.0f}",
                         *(f"{1000 * percentile(s, q):.1f}" for q in (0.5, 0.9, 0.99))] if s
                        else [label, 0, "", "", "", ""])
        rows.append(["all", placed, f"{placed / seconds:,.0f}", "", "", ""])
        print_table(f"A day of {placed:,} orders through the HTTP API on PostgreSQL "
                    f"({args.workers} uvicorn workers, {args.connections} connections): "
                    f"{seconds:.1f} s", ["orders", "placed", "per second", "p50 ms", "p90 ms",
                                         "p99 ms"], rows)
        print(f"CPU per order: server {1000 * cpu.app / placed:.2f} ms, database "
              f"{1000 * cpu.db / placed:.2f} ms")
        day = DAY * seconds / placed
        print(f"extrapolated (not measured): the seed's {DAY:,} orders at this rate take "
              f"{day / 60:.1f} minutes (goal {GOAL_SECONDS / 60:.0f})")
        print(f"verify after the day: {check_books(url)}")


async def _gather(port: int, per: list[list[tuple[str, object]]], tally: Tally, reuse: int) -> None:
    await asyncio.gather(*(_connection(port, jobs, tally, reuse) for jobs in per))


if __name__ == "__main__":
    main()
