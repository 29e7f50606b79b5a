"""The peer: django-hordak 2.0.0 posting the same 8-leg transactions on the same PostgreSQL.

Each order is one Django ``transaction.atomic()`` block writing a hordak ``Transaction`` and its
eight ``Leg`` rows (``bulk_create``, the cheapest way hordak offers): the buyer's cash in, and
out to the merchant's settlement, the platform fee, the partner, the promoter, the BM, the home
merchant and the dividend pool, amounts computed as gongsheng's waterfall computes them.
Hordak's own database triggers check that every transaction balances. Django is configured in
process (no settings module), in each worker after it starts, on database ``gs_bench_hordak``.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from decimal import Decimal
from typing import Any

PARTS = ("merchant", "platform", "partner", "promoter", "bm", "home", "pool")


def setup_django(url: str) -> None:
    """Configure Django for hordak on the PostgreSQL database of ``url`` (idempotent)."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    name = url.rsplit("/", 1)[1]
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="benchmark-only",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "mptt", "djmoney",
                        "hordak"],
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": name,
                               "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}},
        DEFAULT_CURRENCY="CNY", CURRENCIES=["CNY"], HORDAK_CURRENCIES=["CNY"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def prepare(url: str) -> None:
    """Migrate hordak's schema and create the chart of accounts (cash in, and one per part)."""
    setup_django(url)
    from django.core.management import call_command
    from hordak.models import Account

    call_command("migrate", verbosity=0)
    Account.objects.create(name="cash in", code="1", type=Account.TYPES.asset, currencies=["CNY"])
    for n, part in enumerate(PARTS, start=2):
        Account.objects.create(name=part, code=str(n), type=Account.TYPES.liability,
                               currencies=["CNY"])


def _worker(url: str, worker: int, n: int, seconds: float, barrier: Any, out: Any) -> None:
    setup_django(url)
    from django.db import connection, transaction
    from djmoney.money import Money
    from hordak.models import Account, Leg, Transaction

    accounts = {a.name: a for a in Account.objects.all()}
    rng = random.Random(worker)

    def post_one() -> None:
        gross = rng.randrange(1_000, 50_000)
        conc = (gross * 15 * 2 + 100) // 200
        parts = {"platform": conc // 5, "partner": conc * 15 // 100, "promoter": conc // 10,
                 "bm": gross // 100, "home": conc // 20}
        parts["pool"] = conc - sum(parts.values())
        parts["merchant"] = gross - conc
        with transaction.atomic():
            tx = Transaction.objects.create(description=f"order w{worker}")
            legs = [Leg(transaction=tx, account=accounts["cash in"],
                        debit=Money(Decimal(gross) / 100, "CNY"))]
            legs += [Leg(transaction=tx, account=accounts[p], credit=Money(Decimal(parts[p]) / 100, "CNY"))
                     for p in PARTS]
            Leg.objects.bulk_create(legs)

    post_one()  # warm up
    barrier.wait()
    start = time.perf_counter()
    deadline = start + seconds
    done = 0
    while done < n and time.perf_counter() < deadline:
        post_one()
        done += 1
    out.put((done, time.perf_counter() - start))
    connection.close()


def prepare_database(url: str) -> None:
    """:func:`prepare` in a process of its own (this one never configures Django)."""
    p = mp.get_context("spawn").Process(target=prepare, args=(url,))
    p.start()
    p.join()
    if p.exitcode:
        raise RuntimeError("preparing the hordak database failed")


def measure_hordak(url: str, workers: int, n: int, seconds: float) -> float:
    """Transactions per second of ``workers`` processes posting ``n`` transactions in all."""
    ctx = mp.get_context("spawn")  # Django configures itself once per process
    barrier = ctx.Barrier(workers)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, n // workers, seconds, barrier, out))
             for w in range(workers)]
    for p in procs:
        p.start()
    runs = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(d for d, _ in runs) / max(s for _, s in runs)
