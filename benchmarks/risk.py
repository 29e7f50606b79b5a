"""The detectors' and the seals' cost: order throughput with both on, against both off.

Run: ``.venv/bin/python benchmarks/risk.py [--orders N] [--merchants M] [--consumers C]
[--periods P] [--repeats R] [--ring-share F] [--modes off,ids,on] [--only sqlite|postgres]``

One process, one commit per order (``Platform.order``), on PostgreSQL and SQLite. The same
orders are placed, split over ``--periods`` periods each ended by a close (``Platform.close_period``),
in each mode, each run on a fresh database holding the same synthetic city:

- **off**: the orders carry no ``payment_ref`` / ``device_id``, the policy sets no velocity
  cap, and the close runs no detector and seals nothing (``risk.detect_at_close`` and
  ``periods.seal_at_close`` are no-ops for the run);
- **ids** (optional): the orders carry both identifiers, ``[risk] detect_on_order = false``,
  no cap, the close detectors and the seals on (the cost of storing the two columns);
- **on**: identifiers, detection on, a velocity cap set (``max_orders_per_period``, so every
  order is counted for it), the close's detectors (the ring detectors' feed of the graph
  among them) and the period's seal: everything the integrity work adds.

The time of a run is its orders **and its closes** (where the ring detectors and the seals do
their work); ``orders/s`` is orders over that time. A share of consumers (``--ring-share``,
default 2%) pays with instruments of a few merchants' own accounts (registered beforehand), so
rings are found and cases opened at the closes; the others each have one card and one phone of
their own. The modes run side by side, each on its own database: order ``i`` is placed in
every mode (their turn rotating with ``i``) before order ``i + 1``, and each close is made in
every mode in turn, so a change in the machine's load (it may be shared) reaches all modes
alike; each figure is the median of ``--repeats`` such runs, on fresh databases. Printed per
database and mode: orders/s, microseconds per order, the closes' milliseconds, the cases opened
and the overhead against **off** (median of the repeats' own ratios); then the ring detectors'
own cost per order: the time of their close stage (``rings.feed`` and the three ring
detectors), over the orders they read.

Databases: ``gs_bench_risk_<mode>`` on PostgreSQL (dropped at the end) and SQLite files in a
temporary directory.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import City, drop_pg_database, order_amounts, print_table, recreate_pg_database
from orders import register_city
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.database import make_engine
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.domain.policy import Policy
from gongsheng.services import rings, risk
from gongsheng.services.books import open_books
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform

MODES = ("off", "ids", "on")
RING_DETECTORS = ("wash_trading", "wash_ring", "self_referral_ring")


def policy_for(mode: str, cap: int) -> Policy:
    """The default policy, with detection off (``ids``) or a velocity cap (``on``)."""
    text = default_policy_text()
    if mode == "ids":
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


@dataclass
class Stage:
    """Seconds spent in the ring detectors' close stage during a run."""

    seconds: float = 0.0

    def timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return wrapper


@contextmanager
def mode_hooks(mode: str, stage: Stage) -> Iterator[None]:
    """Within the block: for ``off``, no close detector and no seal; otherwise the ring
    detectors' close stage timed into ``stage``."""
    with ExitStack() as hooks:
        if mode == "off":
            hooks.enter_context(patch("gongsheng.services.risk.detect_at_close",
                                      lambda uow, period, rule: 0))
            hooks.enter_context(patch("gongsheng.services.closing.seal_at_close",
                                      lambda stores, period: None))
        else:
            hooks.enter_context(patch("gongsheng.services.rings.feed", stage.timed(rings.feed)))
            hooks.enter_context(patch("gongsheng.services.risk.DETECTORS", tuple(
                replace(d, detect=stage.timed(d.detect))
                if d.name in RING_DETECTORS and d.detect is not None else d
                for d in risk.DETECTORS)))
        yield


@dataclass
class Run:
    """What one mode's run took: its orders, their time and the closes' (seconds)."""

    orders: int = 0
    seconds: float = 0.0
    close_seconds: float = 0.0
    ring: Stage = field(default_factory=Stage)
    cases: int = 0


def prepare(url: str, mode: str, args: argparse.Namespace) -> tuple[Platform, list[OrderRequest]]:
    """A fresh database at ``url`` for ``mode``: the city, the merchants' own cards (unless
    ``off``), one warm-up order; the platform and the orders to time."""
    open_books(url, policy_for(mode, cap=10 * args.orders)).dispose()
    city = register_city(url, merchants=args.merchants, consumers=args.consumers)
    reqs, cards = requests(city, args.orders + 1, args.ring_share, mode != "off", seed=11)
    platform = Platform(make_engine(url))
    if mode != "off":
        for merchant, card in cards.items():
            platform.run(rings.register_identifiers, merchant, [card], [])
    platform.order(reqs[0])  # warm the pool, the policy cache and the compiled statements
    return platform, reqs[1:]


def side_by_side(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Run]:
    """Every mode on its own fresh database, order by order in turn: order ``i`` is placed in
    each mode (the modes' turn rotating with ``i``) before order ``i + 1``, and each period is
    closed in each mode in turn, so a change in the machine's load reaches every mode alike.
    Each mode's time is the sum of its own calls."""
    ready = {mode: prepare(url, mode, args) for mode, url in urls.items()}
    modes = list(ready)
    runs = {mode: Run() for mode in modes}
    n = args.orders
    ends = {n * (k + 1) // args.periods for k in range(args.periods)}
    for i in range(n):
        turn = modes[i % len(modes):] + modes[:i % len(modes)]
        for mode in turn:
            platform, reqs = ready[mode]
            start = time.perf_counter()
            platform.order(reqs[i])
            runs[mode].seconds += time.perf_counter() - start
            runs[mode].orders += 1
        if i + 1 in ends:
            for mode in turn:
                with mode_hooks(mode, runs[mode].ring):
                    start = time.perf_counter()
                    ready[mode][0].close_period()
                    took = time.perf_counter() - start
                runs[mode].seconds += took
                runs[mode].close_seconds += took
    for mode, (platform, _) in ready.items():
        with platform.engine.connect() as conn:
            runs[mode].cases = int(conn.execute(select(func.count()).select_from(t.cases)).scalar_one())
        platform.engine.dispose()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=4_000)
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--consumers", type=int, default=3_000)
    parser.add_argument("--periods", type=int, default=2, help="closes per run (orders split evenly)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ring-share", type=float, default=0.02)
    parser.add_argument("--modes", default="off,on", help="comma-separated, of off, ids, on")
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes) or "off" not in modes:
        parser.error(f"--modes takes off (required) and any of {', '.join(MODES[1:])}")
    databases = [db for db in ("postgres", "sqlite") if args.only in (None, db)]
    runs: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for db in databases:
                names = {mode: f"gs_bench_risk_{mode}" for mode in modes}
                urls = {mode: recreate_pg_database(name) if db == "postgres"
                        else f"sqlite:///{Path(tmp) / f'{name}_{repeat}.db'}"
                        for mode, name in names.items()}
                try:
                    done = side_by_side(urls, args)
                finally:
                    if db == "postgres":
                        for name in names.values():
                            drop_pg_database(name)
                for mode, result in done.items():
                    runs.setdefault((db, mode), []).append(result)
                print(f"  repeat {repeat + 1}/{args.repeats} {db}: " + ", ".join(
                    f"{m} {r.orders / r.seconds:,.0f} orders/s" for m, r in done.items()),
                    file=sys.stderr)
    rows, ring_rows = [], []
    for db in databases:
        base = runs[(db, "off")]
        for mode in modes:
            found = runs[(db, mode)]
            rate = statistics.median(r.orders / r.seconds for r in found)
            per_order = statistics.median(r.seconds / r.orders * 1e6 for r in found)
            ratios = [(r.seconds / r.orders) / (b.seconds / b.orders) - 1
                      for r, b in zip(found, base, strict=True)]
            rows.append((db, mode, found[0].orders, f"{rate:,.0f}", f"{per_order:,.0f}",
                         f"{statistics.median(r.close_seconds for r in found) * 1000 / args.periods:,.0f}",
                         found[0].cases, f"{statistics.median(ratios):+.1%}",
                         " ".join(f"{x:+.1%}" for x in ratios)))
            if mode != "off":
                ring = statistics.median(r.ring.seconds / r.orders * 1e6 for r in found)
                ring_rows.append((db, mode, f"{ring:,.1f}", f"{ring / per_order:.2%}"))
    print_table(f"detectors and seals, on against off ({args.orders:,} orders over "
                f"{args.periods} periods, one commit per order; median of {args.repeats})",
                ("database", "mode", "orders", "orders/s", "us/order", "ms/close", "cases",
                 "overhead", "each run"), rows)
    print_table("the ring detectors' cost per order (their close stage: rings.feed and the three "
                "ring detectors)", ("database", "mode", "us/order", "share of the order"), ring_rows)


if __name__ == "__main__":
    main()
