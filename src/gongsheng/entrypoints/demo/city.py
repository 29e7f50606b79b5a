"""``gongsheng demo``: a synthetic city run through the real services, period by period.

The city: a province with cities and a district (>= 3 regions held by partners, each with a team
of promoters; one district left without a partner, so its share goes to the pool), business
managers, merchants in all three channels (mall, brand, alliance) and several categories, a
shared-shareholder store (共享股东) at the mall, consumers with referrals and home merchants.

Each period, drawn from ``random.Random`` seeded by (seed, period), so a run is reproducible and
a re-run on the same database continues it with fresh draws:

- a share of consumers is active; an active consumer buys ``1 + Poisson(lambda - 1)`` times, with
  ``lambda`` rising from 2.3 to 3.8 purchases per month over the first twelve periods (the seed);
- order values are lognormal per category; consumers spend part of their released vouchers,
  each time issuing a pay code for the sale (the same service a consumer's app calls);
- new consumers arrive through referrals; some orders are refunded (fully or in part); parties
  with cash above the threshold withdraw some; store holders exchange points for units and the
  store declares a profit; then the period is closed.

Every write goes through :class:`Platform` (orders with idempotency keys ``demo-p<period>-...``),
so the books are exactly what the API would have produced, and ``verify`` holds after a run.
Logins: one per party (``<kind>-<party id>``) and ``admin``, marked ``demo``, each with its own
random password (the admin's may be given); a database holding parties but no demo logins was
not made by demo and is refused.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gongsheng.domain.errors import Conflict, GongshengError, InsufficientBalance, InvalidInput
from gongsheng.entrypoints.demo.logins import demo_files, write_logins
from gongsheng.services import accounts, risk, store
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.periods import CloseSummary
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms
from gongsheng.services.unit_of_work import stores_on
from gongsheng.views import directory, reports

CATEGORIES: dict[str, tuple[float, float]] = {  # median order in yuan, lognormal sigma
    "catering": (85.0, 0.55), "grocery": (65.0, 0.6), "retail": (160.0, 0.7),
    "beauty": (260.0, 0.6), "entertainment": (120.0, 0.5), "education": (420.0, 0.5),
}
CHANNEL_CATEGORIES = {"mall": ("grocery", "retail"), "brand": ("retail", "beauty", "catering"),
                      "alliance": tuple(CATEGORIES)}
CITIES = (("Hangzhou", 900), ("Ningbo", 600), ("Wenzhou", 500))
STORE_NAME = "Binaduo Supermarket (shared-shareholder store)"
FREQ_START, FREQ_END, RAMP_PERIODS = 2.3, 3.8, 11
ACTIVE_SHARE = (0.55, 0.75)
REFUND_SHARE = 0.02
NEW_CONSUMER_SHARE = 0.04
Progress = Callable[[str, float], None]
"""``progress(description, periods completed)``, fractional within a period."""


@dataclass(frozen=True)
class DemoConfig:
    periods: int = 12
    consumers: int = 150
    merchants: int = 30
    seed: int = 7


@dataclass
class CityState:
    """The demo city as stored: ids and what the draws need (loaded back on a re-run)."""

    regions: list[int] = field(default_factory=list)
    merchants: list[tuple[int, str, str, bool]] = field(default_factory=list)  # id, channel, cat, vch
    consumers: list[int] = field(default_factory=list)
    payees: list[int] = field(default_factory=list)  # merchants, BMs, partners, promoters
    programme: int | None = None


@dataclass(frozen=True)
class DemoResult:
    first_run: bool
    closed: list[CloseSummary]
    kpis: dict[str, Any]
    risk: dict[str, Any]
    logins_file: Path
    logins_created: int
    orders: int


def load_city(platform: Platform) -> CityState:
    """The city as stored in the database."""
    r = platform.read(directory.roster)
    return CityState(r.regions, r.merchants, r.consumers, r.payees, r.programme)


def build_city(platform: Platform, config: DemoConfig, rng: random.Random) -> None:
    """Register the synthetic city's parties through the platform."""
    province = platform.region("Zhejiang", "province")
    cities = [platform.region(name, "city", province, universe) for name, universe in CITIES]
    district = platform.region("Xihu District", "district", cities[0], 300)
    teams: list[tuple[int, int]] = []  # (region, promoter)
    for i, region in enumerate(cities):
        partner = platform.partner(f"Partner {CITIES[i][0]}", region, rng.choice((3, 5, 8)) * 10**7)
        teams += [(region, platform.promoter(f"Promoter {CITIES[i][0]} {k + 1}", partner))
                  for k in range(2)]
    bms = [platform.business_manager(f"BM {k + 1}") for k in range(3)]
    regions = [*cities, district]
    channels = ["mall", "brand", "alliance"]
    for k in range(max(config.merchants, 3)):
        channel = channels[k] if k < 3 else rng.choices(channels, (1, 3, 8))[0]
        category = rng.choice(CHANNEL_CATEGORIES[channel])
        promoter: int | None = None
        if rng.random() < 0.7:
            region, promoter = rng.choice(teams)
        else:
            region = rng.choice(regions)
        bm = rng.choice(bms) if rng.random() < 0.8 else None
        rate = rng.choice(("0.05", "0.08", "0.10", "0.12", "0.15", "0.20"))
        name = STORE_NAME if k == 0 else f"{category.title()} {channel} {k}"
        platform.merchant(MerchantTerms(
            name, category, channel, region, rate if k else "0.10",
            accepts_vouchers=channel == "mall" or rng.random() < 0.7, bm_id=bm,
            bm_rate=rng.choice(("0.01", "0.02")) if bm else None,
            promoter_id=promoter))
    city = load_city(platform)
    store_id = city.merchants[0][0]
    platform.run(store.open_programme, store_id, 10_000, 100_000, "0.30")
    add_consumers(platform, city, config.consumers, rng, label="Consumer")


def add_consumers(platform: Platform, city: CityState, count: int, rng: random.Random,
                  label: str = "Consumer") -> list[int]:
    """``count`` new consumers; most referred by an existing one, most brought in by a merchant."""
    made = []
    for _ in range(count):
        referrer = rng.choice(city.consumers) if city.consumers and rng.random() < 0.6 else None
        home = rng.choice(city.merchants)[0] if rng.random() < 0.7 else None
        cid = platform.consumer(f"{label} {len(city.consumers) + 1}", referrer, home)
        city.consumers.append(cid)
        made.append(cid)
    return made


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth; lambda is small here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def order_value_fen(rng: random.Random, category: str) -> int:
    median, sigma = CATEGORIES.get(category, (120.0, 0.6))
    return max(500, round(rng.lognormvariate(math.log(median), sigma) * 100))


def run_period(platform: Platform, city: CityState, seq: int, index: int, config: DemoConfig,
               step: Callable[[float], None]) -> int:
    """Orders, vouchers, refunds, payouts and the store for the open period ``seq``; returns orders."""
    rng = random.Random(f"{config.seed}:{seq}")
    new = add_consumers(platform, city, max(1, round(len(city.consumers) * NEW_CONSUMER_SHARE)),
                        rng, label=f"Consumer p{seq}")
    lam = FREQ_START + (FREQ_END - FREQ_START) * min(1.0, index / RAMP_PERIODS)
    share = rng.uniform(*ACTIVE_SHARE)
    weights = [rng.lognormvariate(0, 0.8) for _ in city.merchants]
    fresh = set(new)
    active = [c for c in city.consumers if c in fresh or rng.random() < share]
    placed: list[tuple[int, int]] = []
    store_sales = 0
    for n, consumer in enumerate(active):
        vouchers = platform.wallet(consumer).vouchers_fen if seq > 1 else 0
        for j in range(1 + poisson(rng, lam - 1)):
            merchant, channel, category, accepts = rng.choices(city.merchants, weights)[0]
            amount = order_value_fen(rng, category)
            voucher = 0
            if vouchers and accepts and rng.random() < 0.7:
                cap = amount // 2 if channel == "mall" else amount
                voucher = min(vouchers, cap, int(vouchers * rng.uniform(0.3, 1.0)))
            key = f"demo-p{seq}-c{consumer}-{n}-{j}"
            try:  # the consumer consents to the voucher part with a pay code, as at a till
                code = platform.pay_code(consumer, voucher, merchant).code if voucher else None
                result = platform.order(OrderRequest(consumer, merchant, amount, voucher, key, code))
            except GongshengError:  # e.g. vouchers not accepted here: pay in cash instead
                result = platform.order(OrderRequest(consumer, merchant, amount, 0, key + "-cash"))
            vouchers -= result.voucher_fen
            placed.append((result.order_id, amount))
            if merchant == city.merchants[0][0]:
                store_sales += amount
        step((n + 1) / len(active))
    for order_id, amount in placed:
        if rng.random() < REFUND_SHARE:
            part = amount if rng.random() < 0.6 else max(1, int(amount * rng.uniform(0.1, 0.9)))
            with contextlib.suppress(GongshengError):
                platform.refund(order_id, part, f"demo-p{seq}-r{order_id}")
    _store(platform, city, rng, active, seq, store_sales)
    _payouts(platform, city, rng, seq)
    return len(placed)


def _store(platform: Platform, city: CityState, rng: random.Random, active: list[int], seq: int,
           sales: int) -> None:
    if city.programme is None:
        return
    for consumer in rng.sample(active, min(len(active), max(1, len(active) // 25))):
        with contextlib.suppress(GongshengError):  # not enough unreleased points yet
            platform.run(store.exchange, consumer, city.programme, rng.randint(1, 3))
    # declared once a period; paid only from cash no hold keeps back (none in the first period)
    with contextlib.suppress(Conflict, InsufficientBalance):
        platform.run(store.declare_profit, city.programme, sales // 20)


def _payouts(platform: Platform, city: CityState, rng: random.Random, seq: int) -> None:
    for party in city.payees:
        if rng.random() < 0.4:
            cash = platform.wallet(party).cash_available_fen  # what no hold keeps back
            if cash >= 10_000:
                with contextlib.suppress(GongshengError):  # below this period's threshold
                    platform.withdraw(party, int(cash * rng.uniform(0.5, 1.0)), f"demo-p{seq}-w{party}")


def run_demo(platform: Platform, config: DemoConfig, *, password: str | None = None,
             logins_file: Path | None = None, progress: Progress | None = None) -> DemoResult:
    """Build the city (or load it, on a re-run) and run ``config.periods`` more periods;
    ``password`` is the demo admin's (see :func:`write_logins`)."""
    if config.periods < 1 or config.consumers < 1 or config.merchants < 3:
        raise InvalidInput("demo needs at least 1 period, 1 consumer and 3 merchants")
    url = platform.engine.url.render_as_string(hide_password=False)
    logins_file = logins_file or demo_files(url)[0]
    parties = platform.read(directory.party_count)
    if parties and not platform.read(accounts.demo_login_count):
        raise InvalidInput("this database holds parties but was not made by 'gongsheng demo'; "
                           "run the demo on a fresh database (--db)")
    first = parties == 0
    if first:
        build_city(platform, config, random.Random(f"{config.seed}:city"))
    created = write_logins(platform, password, logins_file)
    city = load_city(platform)
    start = platform.read(lambda conn: stores_on(conn).periods.open_period()).seq
    report = progress or (lambda _d, _c: None)
    closed: list[CloseSummary] = []
    orders = 0
    for index in range(config.periods):
        seq = start + index

        def step(part: float, seq: int = seq, index: int = index) -> None:
            report(f"period {seq}", index + 0.95 * part)

        orders += run_period(platform, city, seq, seq - 1, config, step)
        closed.append(platform.close_period(seq))
        report(f"period {seq} closed", index + 1)
    created += write_logins(platform, password, logins_file)
    kpis = platform.read(reports.kpis)
    flags = platform.read(lambda conn: risk.risk(stores_on(conn)))
    return DemoResult(first, closed, kpis, flags, logins_file, created, orders)


__all__ = ["DemoConfig", "DemoResult", "run_demo"]
