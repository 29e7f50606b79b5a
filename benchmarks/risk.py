"""The ring detector's cost per order: orders per second with the detectors on and off.

Run: ``.venv/bin/python benchmarks/risk.py [--orders N] [--merchants M] [--consumers C]
[--ring-share F] [--only sqlite|postgres]``

One process, one commit per order (``Platform.order``), on PostgreSQL and SQLite. The same
orders are placed three ways, each on a fresh database holding the same synthetic city:

- **off**: the orders carry no ``payment_ref`` / ``device_id`` (nothing reaches the detectors;
  the order path as it was);
- **ids, no detection**: the orders carry both identifiers, ``[risk] detect_on_order = false``
  (the cost of storing the two columns);
- **on**: identifiers, detection on, and a velocity cap set (``max_orders_per_period``): every
  order feeds the shared-identifier graph and its ring checks, and is counted for the cap.

A share of consumers (``--ring-share``, default 2%) pays with instruments of a few merchants'
own accounts (registered beforehand), so rings are found and cases opened on the way; the others
each have one card and one phone of their own. The table gives orders/s, microseconds per order
and the difference to **off** (the detectors' cost per order), and the cases opened.

Databases: ``gs_bench_risk_<mode>`` on PostgreSQL (dropped at the end) and SQLite files in a
temporary directory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import City, drop_pg_database, order_amounts, print_table, recreate_pg_database
from orders import register_city
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.database import make_engine
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.services import rings
from gongsheng.services.books import open_books
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform

MODES = ("off", "ids, no detection", "on")


def policy_for(mode: str, cap: int) -> object:
    """The default policy, with detection off (``ids, no detection``) or a velocity cap (``on``)."""
    text = default_policy_text()
    if mode == "ids, no detection":
        text = text.replace("detect_on_order = true", "detect_on_order = false", 1)
    elif mode == "on":
        text = text.replace("[risk]\n", f"[risk]\nmax_orders_per_period = {cap}\n", 1)
    return parse_policy_text(text)


def requests(city: City, n: int, ring_share: float, with_ids: bool,
             seed: int) -> tuple[list[OrderRequest], dict[int, str]]:
    """``n`` orders and the merchant cards that ring consumers pay with."""
    rng = random.Random(seed)
    amounts = order_amounts(rng, n)
    rigged = city.merchants[:max(1, len(city.merchants) // 50)]
    cards = {m: f"card:merchant-{m}" for m in rigged}
    ring = {c: rng.choice(rigged) for c in city.consumers if rng.random() < ring_share}
    out = []
    for i in range(n):
        consumer = rng.choice(city.consumers)
        merchant = ring.get(consumer, rng.choice(city.merchants))
        ref = cards[merchant] if consumer in ring else f"card:{consumer}"
        out.append(OrderRequest(consumer, merchant, amounts[i], 0, f"risk-{i}", None,
                                ref if with_ids else None,
                                f"phone:{consumer}" if with_ids else None))
    return out, cards


def run(url: str, mode: str, args: argparse.Namespace) -> tuple[int, float, int]:
    """``(orders placed, seconds, cases opened)`` for one mode on a fresh database at ``url``."""
    open_books(url, policy_for(mode, cap=10 * args.orders)).dispose()  # type: ignore[arg-type]
    city = register_city(url, merchants=args.merchants, consumers=args.consumers)
    reqs, cards = requests(city, args.orders + 1, args.ring_share, mode != "off", seed=11)
    engine = make_engine(url)
    platform = Platform(engine)
    if mode != "off":
        for merchant, card in cards.items():
            platform.run(rings.register_identifiers, merchant, [card], [])
    platform.order(reqs[0])  # warm the pool, the policy cache and the compiled statements
    start = time.perf_counter()
    for req in reqs[1:]:
        platform.order(req)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        opened = int(conn.execute(select(func.count()).select_from(t.cases)).scalar_one())
    engine.dispose()
    return len(reqs) - 1, seconds, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--consumers", type=int, default=3_000)
    parser.add_argument("--ring-share", type=float, default=0.02)
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for db in ("postgres", "sqlite"):
            if args.only not in (None, db):
                continue
            base = None
            for mode in MODES:
                name = "gs_bench_risk_" + mode.split(",")[0].replace(" ", "_")
                url = (recreate_pg_database(name) if db == "postgres"
                       else f"sqlite:///{Path(tmp) / (name + '.db')}")
                try:
                    n, seconds, opened = run(url, mode, args)
                finally:
                    if db == "postgres":
                        drop_pg_database(name)
                per_order = seconds / n * 1e6
                base = per_order if base is None else base
                rows.append((db, mode, n, f"{n / seconds:,.0f}", f"{per_order:,.0f}",
                             f"{per_order - base:+,.0f}", f"{(per_order / base - 1):+.1%}", opened))
    print_table("ring detector cost per order (one process, one commit per order)",
                ("database", "detectors", "orders", "orders/s", "us/order", "vs off",
                 "overhead", "cases"), rows)


if __name__ == "__main__":
    main()
