"""A city at a fraction of the seed, and every read the operator and the parties use, at two scales.

Run: ``.venv/bin/python benchmarks/seed_scale.py [--scale F] [--factor K] [--periods P]
[--repeats R] [--keep] [--reuse] [--served]``

The seed's city (F = 1) is 8 million consumers, 160 thousand merchants and 9 million orders a
period. For each of two scales, F and K x F, a fresh PostgreSQL database (``gs_seed_small``,
``gs_seed_large``) is loaded through the project's own fast paths:

- regions, partners, promoters, business managers and merchants through the registry's
  services (one transaction each; the mall, the busiest merchant, takes a tenth of the orders);
- consumers by ``COPY`` into ``parties`` and ``consumers`` (one in three referred by an earlier
  consumer, half brought in by a merchant), the lifetime counter added as the registry would;
- ``P`` periods of ``9M x F`` orders each through ``batch.place_orders`` (one statement per
  batch of 2,000 orders on PostgreSQL: waterfall, points, holdings, counters, party totals), a
  few refunds, and ``P - 1`` closes: closed history, then a full open period.

It then times, ``R`` times each (p50 and p95), every read: the web pages (admin dashboard, the
mall's, a median merchant's, the busiest partner's, a BM's, a promoter's, a consumer's, the
merchant's order list, the partner's team, the admin's lists of parties, partners, signings and
cases, deep keyed pages and searches among them), the API reads (KPIs, risk, trial balance,
partner report, BM merchants, statements, wallets, order, party, partner, signing and case lists,
deep keyed pages of the mall's orders and of the consumers, name searches), then ``verify`` and
the close of the open period, each
once. The pages and API run in process (FastAPI's test client, an admin signed in). A read's
time is the server's own, as it answers it in ``Server-Timing`` (from the request middleware's
entry to the answer's first byte: handler, database reads, rendering); the client's time around
the call is printed beside it, and is larger by the test client's hand-offs between its thread
and the application's event loop (several a request), which wait on a busy machine's scheduler.
It prints both scales side by side and their ratio; the goal is each ratio within 2x, pages
under 300 ms and API reads under 50 ms (p95). ``--keep`` keeps both databases and leaves their
open period open (the close is then not timed), so that ``--reuse`` can time the reads again on
the same books without a load (give it the ``--scale`` and ``--factor`` of the run that kept
them: they label the table). ``--served`` times the reads through ``gongsheng serve`` (one
uvicorn worker, a process of its own) over loopback HTTP instead of in process: the server's
time is then its own, not shared with a test client in the same interpreter.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import drop_pg_database, order_amounts, pg_url, print_table, recreate_pg_database
from http_api import gongsheng_serve, server_settings
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from gongsheng.adapters import tables as t
from gongsheng.adapters.period_store import add_counters
from gongsheng.domain.periods import LIFETIME
from gongsheng.entrypoints.api.app import create_app
from gongsheng.entrypoints.api.auth import app_token_key, issue_token
from gongsheng.services import accounts
from gongsheng.services.batch import place_orders
from gongsheng.services.books import open_books
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms
from gongsheng.settings import Settings
from gongsheng.views.verification import verify

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SEED_CONSUMERS, SEED_MERCHANTS, SEED_ORDERS = 8_000_000, 160_000, 9_000_000
BATCH = 2_000
PASSWORD = "seed-scale-password-1"
SECRET = "seed-scale-secret-" + "x" * 40
MALL_SHARE = 0.10


@dataclass
class SeedCity:
    """The parties the reads look at."""

    regions: list[int] = field(default_factory=list)
    partners: list[int] = field(default_factory=list)
    promoters: list[int] = field(default_factory=list)
    bms: list[int] = field(default_factory=list)
    merchants: list[int] = field(default_factory=list)
    consumers: range = range(0)
    mall: int = 0


def register(plat: Platform, merchants: int, rng: random.Random) -> SeedCity:
    """Regions, partners, promoters, BMs and merchants through the registry's services."""
    city = SeedCity()
    for r in range(max(2, merchants // 400)):
        region = plat.region(f"region {r}", "city", merchant_universe=merchants * 2)
        city.regions.append(region)
        partner = plat.partner(f"partner {r}", region, 50_000_000)
        city.partners.append(partner)
        city.promoters += [plat.promoter(f"promoter {r}.{i}", partner) for i in range(3)]
    city.bms = [plat.business_manager(f"bm {i}") for i in range(max(2, merchants // 100))]
    for m in range(merchants):
        region = 0 if m == 0 else rng.randrange(len(city.regions))  # the mall in region 0
        city.merchants.append(plat.merchant(MerchantTerms(
            "mall" if m == 0 else f"merchant {m}", "retail" if m % 3 else "catering",
            "mall" if m == 0 else ("alliance" if m % 4 else "brand"), city.regions[region],
            f"0.{rng.randint(8, 20):02d}", True, rng.choice(city.bms), "0.01",
            city.promoters[3 * region + rng.randrange(3)])))
    city.mall = city.merchants[0]
    return city


def copy_consumers(plat: Platform, city: SeedCity, n: int, rng: random.Random) -> None:
    """``n`` consumers by COPY (parties, then consumers), the lifetime counter as registered."""
    with plat.engine.begin() as conn:
        first = int(conn.execute(select(func.max(t.parties.c.id))).scalar_one()) + 1
    ids = range(first, first + n)
    parties, consumers = io.StringIO(), io.StringIO()
    for i in ids:
        parties.write(f"{i}\tconsumer\tconsumer {i}\n")
        referrer = str(rng.randrange(first, i)) if i > first and rng.random() < 1 / 3 else "\\N"
        home = str(rng.choice(city.merchants)) if rng.random() < 0.5 else "\\N"
        consumers.write(f"{i}\t{referrer}\t{home}\n")
    raw = plat.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        with cur.copy("COPY parties (id, kind, name) FROM STDIN") as copy:
            copy.write(parties.getvalue())
        with cur.copy("COPY consumers (party_id, referrer_id, home_merchant_id) FROM STDIN") as copy:
            copy.write(consumers.getvalue())
        cur.execute("SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))")
        raw.driver_connection.commit()
    finally:
        raw.close()
    with plat.engine.begin() as conn:
        add_counters(conn, LIFETIME, {"consumers": n})
        conn.exec_driver_sql(  # each referrer's idle referees, as registration counts them
            "INSERT INTO party_period_totals (party_id, period, name, stripe, value) "
            "SELECT referrer_id, 0, 'referees:idle', 0, count(*) FROM consumers "
            "WHERE referrer_id IS NOT NULL GROUP BY referrer_id")
    city.consumers = ids


def place_period(plat: Platform, city: SeedCity, orders: int, rng: random.Random, tag: str) -> None:
    """``orders`` cash orders through ``batch.place_orders``, then a few refunds."""
    others = city.merchants[1:]
    weights = [1 / (1 + i) ** 0.8 for i in range(len(others))]  # a long tail behind the mall
    amounts = order_amounts(rng, orders)
    placed: list[int] = []
    for start in range(0, orders, BATCH):
        n = min(BATCH, orders - start)
        picks = rng.choices(others, weights, k=n)
        reqs = [OrderRequest(rng.choice(city.consumers),
                             city.mall if rng.random() < MALL_SHARE else picks[j],
                             amounts[start + j], 0, f"{tag}-{start + j}") for j in range(n)]
        placed += [o.order_id for o in plat.run(place_orders, reqs) if hasattr(o, "order_id")]
    for order_id in rng.sample(placed, max(1, orders // 1000)):
        plat.refund(order_id, 100, f"{tag}-refund-{order_id}")


def load(url: str, scale: float, periods: int, seed: int) -> tuple[Platform, SeedCity, float]:
    rng = random.Random(seed)
    plat = Platform(open_books(url))
    t0 = time.perf_counter()
    city = register(plat, max(20, round(SEED_MERCHANTS * scale)), rng)
    copy_consumers(plat, city, max(100, round(SEED_CONSUMERS * scale)), rng)
    per_period = max(1000, round(SEED_ORDERS * scale))
    for p in range(periods):
        place_period(plat, city, per_period, rng, f"p{p}")
        if p < periods - 1:
            plat.close_period()
    with plat.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return plat, city, time.perf_counter() - t0


def median_merchant(plat: Platform, city: SeedCity) -> int:
    """The merchant with the median number of orders."""
    with plat.engine.connect() as conn:
        rows = conn.execute(select(t.orders.c.merchant_id, func.count()).group_by(t.orders.c.merchant_id)
                            .order_by(func.count())).all()
    return int(rows[len(rows) // 2][0])


def busiest(plat: Platform, column: str, candidates: list[int]) -> int:
    """The candidate (partner or BM) whose cash total is largest."""
    with plat.engine.connect() as conn:
        pt = t.party_period_totals
        row = conn.execute(select(pt.c.party_id).where(pt.c.party_id.in_(candidates),
                                                       pt.c.name == column)
                           .group_by(pt.c.party_id).order_by(func.sum(pt.c.value).desc())
                           .limit(1)).scalar_one()
    return int(row)


def clients(plat: Platform, base: str | None = None) -> tuple[Any, dict[str, str]]:
    """A client signed in as an admin (cookie for pages) and its bearer header (API): FastAPI's
    test client on the application in this process, or (``base``) an HTTP client of the server
    answering there."""
    name = f"seedadmin{time.time_ns() % 10**9}"  # a run on kept databases adds its own admin
    account = plat.run(accounts.create_account, name, PASSWORD, "admin")
    app = create_app(plat, Settings(secret_key=SECRET)) if base is None else None
    client: Any = TestClient(app, raise_server_exceptions=True) if app is not None \
        else httpx.Client(base_url=base, timeout=120)
    try:
        page = client.get("/login").text
        token = re.search(r'name="form_token" value="([^"]*)"', page)
        assert token is not None
        done = client.post("/login", data={"username": name, "password": PASSWORD,
                                           "form_token": token.group(1)}, follow_redirects=False)
        assert done.status_code == 303, done.text
        if app is not None:
            bearer = issue_token(account, app_token_key(app), 120)
        else:
            answer = client.post("/api/v1/auth/token",
                                 data={"username": name, "password": PASSWORD})
            answer.raise_for_status()
            bearer = answer.json()["access_token"]
    except BaseException:
        client.close()
        raise
    return client, {"Authorization": "Bearer " + bearer}


@contextmanager
def served(url: str) -> Iterator[str]:
    """``gongsheng serve`` (one uvicorn worker) on ``url`` at a free loopback port; its base
    address, the server stopped at the end."""
    with gongsheng_serve(url, 1, server_settings(SECRET)) as (base, _, _):
        yield base


Call = Callable[[TestClient, dict[str, str]], Any]
Timing = tuple[str, float, float, float]
"""``(kind, p50 ms, p95 ms, the client's p95 ms)`` of a read (one time each for verify, close)."""
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def server_ms(response: Any) -> float:
    """The server's own time on a request, from its ``Server-Timing`` header."""
    found = SERVER_TIMING.search(response.headers.get("server-timing", ""))
    if found is None:
        raise RuntimeError("the answer carries no Server-Timing: a checkout before it?")
    return float(found.group(1))


def reads(plat: Platform, city: SeedCity) -> dict[str, tuple[str, Call]]:
    """Every read, by name: ``(kind, call)``, kind ``page`` or ``api``."""
    median = median_merchant(plat, city)
    partner = busiest(plat, "cash:order", city.partners)
    bm = busiest(plat, "cash:order", city.bms)
    consumer = city.consumers[len(city.consumers) // 2]
    promoter = city.promoters[0]
    with plat.engine.connect() as conn:
        mall_orders = [int(i) for i in conn.execute(
            select(t.orders.c.id).where(t.orders.c.merchant_id == city.mall)
            .order_by(t.orders.c.id)).scalars()]
    deep = mall_orders[len(mall_orders) // 10]  # a page a tenth of the way from the oldest
    old = city.consumers[len(city.consumers) // 10]  # a consumer a tenth of the way from the oldest

    def get(path: str) -> Call:
        def call(client: TestClient, headers: dict[str, str]) -> Any:
            response = client.get(path, headers=headers if path.startswith("/api/") else None)
            assert response.status_code == 200, (path, response.status_code, response.text[-300:])
            return response
        return call

    api = "/api/v1"
    return {
        "page /admin": ("page", get("/admin")),
        "page mall": ("page", get(f"/merchant/{city.mall}")),
        "page median merchant": ("page", get(f"/merchant/{median}")),
        "page mall orders": ("page", get(f"/merchant/{city.mall}/orders")),
        "page busiest partner": ("page", get(f"/partner/{partner}")),
        "page partner team": ("page", get(f"/partner/{partner}/team")),
        "page BM": ("page", get(f"/bm/{bm}")),
        "page promoter": ("page", get(f"/promoter/{promoter}")),
        "page consumer": ("page", get(f"/consumer/{consumer}")),
        "page mall orders keyed deep": ("page", get(f"/merchant/{city.mall}/orders?before={deep}")),
        "page admin parties": ("page", get("/admin/parties")),
        "page admin parties keyed deep": ("page", get(f"/admin/parties?before={old}")),
        "page admin merchants": ("page", get("/admin/parties?kind=merchant")),
        "page admin parties search": ("page", get(f"/admin/parties?q=consumer+{old}")),
        "page admin partners": ("page", get("/admin/partners")),
        "page admin signings": ("page", get("/admin/signings")),
        "page admin cases": ("page", get("/admin/cases")),
        "api KPIs": ("api", get(f"{api}/reports/kpis")),
        "api risk": ("api", get(f"{api}/risk")),
        "api trial balance": ("api", get(f"{api}/ledger/trial-balance")),
        "api partner report": ("api", get(f"{api}/partners/{partner}/report")),
        "api BM merchants": ("api", get(f"{api}/business-managers/{bm}/merchants")),
        "api mall statement": ("api", get(f"{api}/statements/{city.mall}")),
        "api median merchant statement": ("api", get(f"{api}/statements/{median}")),
        "api partner statement": ("api", get(f"{api}/statements/{partner}")),
        "api consumer wallet": ("api", get(f"{api}/wallets/{consumer}")),
        "api merchant wallet": ("api", get(f"{api}/wallets/{city.mall}")),
        "api orders (admin)": ("api", get(f"{api}/orders?limit=50")),
        "api orders keyed deep page": ("api", get(f"{api}/orders?limit=50&before={deep}")),
        "api order": ("api", get(f"{api}/orders/{mall_orders[-1]}")),
        "api parties keyed deep": ("api", get(f"{api}/parties?kind=consumer&before={old}")),
        "api merchants": ("api", get(f"{api}/parties?kind=merchant")),
        "api parties search": ("api", get(f"{api}/parties?q=consumer+{old}")),
        "api parties search, a name's start": ("api", get(f"{api}/parties?q=me")),
        "api partners": ("api", get(f"{api}/partners")),
        "api signings": ("api", get(f"{api}/merchant-signings")),
        "api cases": ("api", get(f"{api}/cases")),
    }


def p95(times: list[float]) -> float:
    return sorted(times)[int(0.95 * (len(times) - 1))]


def time_reads(plat: Platform, city: SeedCity, repeats: int, close: bool = True,
               base: str | None = None) -> dict[str, Timing]:
    """``name -> Timing`` of every read (the server's time), in this process or (``base``) from
    the server answering there, then ``verify`` and (``close``) the close of the open period."""
    client, headers = clients(plat, base)
    out: dict[str, Timing] = {}
    with client if base is None else closing(client):  # an httpx client in use opens no more
        for name, (kind, call) in reads(plat, city).items():
            call(client, headers)  # warm: caches, prepared statements, a first settlement
            server, outside = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                response = call(client, headers)
                outside.append((time.perf_counter() - t0) * 1000)
                server.append(server_ms(response))
            out[name] = (kind, statistics.median(server), p95(server), p95(outside))
            print(f"  {name:<32} p50 {out[name][1]:9.1f} ms  p95 {out[name][2]:9.1f} ms  "
                  f"(client p95 {out[name][3]:.1f} ms)", flush=True)
    for name, action in (("verify", lambda: verify(plat)), ("close", plat.close_period)):
        if name == "close" and not close:
            out[name] = ("write", 0.0, 0.0, 0.0)
            print(f"  {name:<32} not timed: the databases are kept", flush=True)
            continue
        t0 = time.perf_counter()
        action()
        ms = (time.perf_counter() - t0) * 1000
        out[name] = ("audit" if name == "verify" else "write", ms, ms, ms)
        print(f"  {name:<32} {ms:9.1f} ms", flush=True)
    return out


def city_of(plat: Platform) -> SeedCity:
    """The parties of a city loaded by an earlier run (``--reuse``), as :func:`register` made them."""
    with plat.engine.connect() as conn:
        def ids(query: Any) -> list[int]:
            return [int(i) for i in conn.execute(query).scalars()]
        p = t.parties
        city = SeedCity(
            regions=ids(select(t.regions.c.id).where(t.regions.c.name.like("region %"))
                        .order_by(t.regions.c.id)),
            partners=ids(select(t.partners.c.party_id).order_by(t.partners.c.party_id)),
            promoters=ids(select(t.promoters.c.party_id).order_by(t.promoters.c.party_id)),
            bms=ids(select(p.c.id).where(p.c.kind == "bm").order_by(p.c.id)),
            merchants=ids(select(t.merchants.c.party_id).order_by(t.merchants.c.party_id)))
        low, high = conn.execute(select(func.min(t.consumers.c.party_id),
                                        func.max(t.consumers.c.party_id))).one()
    if low is None or not city.merchants:
        raise SystemExit("--reuse: this database holds no loaded city (run with --keep first)")
    city.consumers = range(int(low), int(high) + 1)
    city.mall = city.merchants[0]
    return city


def run_scale(name: str, scale: float, periods: int, repeats: int, keep: bool, reuse: bool,
              serve: bool = False) -> tuple[dict[str, Timing], dict[str, int]]:
    url = pg_url(name) if reuse else recreate_pg_database(name)
    try:
        if reuse:
            plat = Platform(open_books(url))
            city, how = city_of(plat), "kept by an earlier run"
        else:
            plat, city, seconds = load(url, scale, periods, seed=round(scale * 1e6))
            how = f"loaded in {seconds:.0f} s"
        with plat.engine.connect() as conn:
            size = {tbl: int(conn.execute(select(func.count()).select_from(getattr(t, tbl))).scalar_one())
                    for tbl in ("orders", "postings", "consumers", "merchants")}
        print(f"F = {scale:g}: {how}: " + ", ".join(
            f"{v:,} {k}" for k, v in size.items()), flush=True)
        with served(url) if serve else nullcontext(None) as base:
            result = time_reads(plat, city, repeats, close=not (keep or reuse), base=base)
        plat.engine.dispose()
        return result, size
    finally:
        if not (keep or reuse):
            drop_pg_database(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.002, help="fraction F of the seed")
    parser.add_argument("--factor", type=float, default=4, help="the larger scale is F x this")
    parser.add_argument("--periods", type=int, default=3,
                        help="periods of orders (all but the last closed)")
    parser.add_argument("--repeats", type=int, default=20, help="timings per read")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--served", action="store_true",
                        help="time the reads through gongsheng serve over loopback HTTP")
    parser.add_argument("--reuse", action="store_true",
                        help="time the reads on the databases an earlier --keep run left (no load)")
    args = parser.parse_args(argv)
    large = args.scale * args.factor
    small_r, small_n = run_scale("gs_seed_small", args.scale, args.periods, args.repeats,
                                 args.keep, args.reuse, args.served)
    large_r, large_n = run_scale("gs_seed_large", large, args.periods, args.repeats,
                                 args.keep, args.reuse, args.served)
    rows = []
    for name, (kind, p50, p95_small, client_small) in small_r.items():
        _, q50, q95, client_large = large_r[name]
        if name == "close" and not p95_small:
            rows.append([name, "not timed (--keep, --reuse)", *[""] * 6])
            continue
        goal = {"page": 300.0, "api": 50.0}.get(kind)
        rows.append([name, f"{p50:.1f}", f"{p95_small:.1f}", f"{q50:.1f}", f"{q95:.1f}",
                     f"{q95 / p95_small:.2f}x" if p95_small else "-",
                     "-" if goal is None else ("ok" if q95 / p95_small <= 2 else "GROWS"),
                     f"{client_small:.1f} / {client_large:.1f}"])
    print_table(f"PostgreSQL, F = {args.scale:g} ({small_n['orders']:,} orders, "
                f"{small_n['postings']:,} postings) and F = {large:g} ({large_n['orders']:,} orders, "
                f"{large_n['postings']:,} postings); the server's ms",
                ["read", "small p50", "small p95", "large p50", "large p95", "p95 ratio", "<= 2x",
                 "client p95 small / large"], rows)


if __name__ == "__main__":
    main()
