"""Fixtures shared by the integration and end-to-end tests: databases, platforms, the worked example.

- ``db_url``: a fresh, empty database per test, parametrised over SQLite (a file in ``tmp_path``)
  and PostgreSQL (``CREATE DATABASE gs_test_<hex>`` from a migrated template made once per
  session, so the schema holds no rows; dropped ``WITH (FORCE)`` at teardown). The
  PostgreSQL parameter is marked ``postgres``; when the server (``GONGSHENG_TEST_PG_SERVER``,
  default ``127.0.0.1:5432`` as ``postgres``) is unreachable it fails loudly, unless
  ``GONGSHENG_SKIP_POSTGRES=1`` is set, in which case it is skipped.
- ``open_platform``: opens :class:`Platform` objects on a URL and disposes their engines at
  teardown (so that PostgreSQL databases can be dropped); ``platform`` is one on ``db_url``.
- ``city``: builds MODEL.md section 9's city on a platform (region with partner, promoter, BM,
  home merchant H, catering merchant M at 20% with BM 1% signed by the promoter, consumers B and
  A, A referred by B and brought in by H).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from gongsheng.adapters.database import make_engine, migrate
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.domain.policy import Policy
from gongsheng.services.ordering import OrderRequest, OrderResult
from gongsheng.services.platform import Platform
from gongsheng.services.registry import MerchantTerms

# Property tests check results, not speed: Hypothesis's default 200 ms deadline per example fails
# them on a busy shared machine (a test then "fails" for taking 300 ms). Benchmarks measure speed.
settings.register_profile("gongsheng", deadline=None)
settings.load_profile("gongsheng")

# a stored forecast is refreshed after each close: tiny in tests (entrypoints/forecasting.py)
os.environ.setdefault("GONGSHENG_FORECAST_RUNS", "3")
os.environ.setdefault("GONGSHENG_FORECAST_PERIODS", "4")
# An app built with default settings writes its attestation key where this points, never into
# the working tree (a test that needs a particular key passes its own file).
os.environ.setdefault("GONGSHENG_ATTESTATION_KEY_FILE", str(
    Path(tempfile.gettempdir()) / f"gongsheng-test-{os.getpid()}" / "attestation.key"))

PG_SERVER = os.environ.get("GONGSHENG_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_ADMIN_URL = f"{PG_SERVER}/postgres"
SKIP_POSTGRES_ENV = "GONGSHENG_SKIP_POSTGRES"

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the server's ``postgres`` database (creates and drops test databases)."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as err:
        engine.dispose()
        reason = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {str(err.orig).strip()}"
        if os.environ.get(SKIP_POSTGRES_ENV) == "1":
            pytest.skip(f"{reason} ({SKIP_POSTGRES_ENV}=1)")
        pytest.fail(f"{reason}; start it, or set {SKIP_POSTGRES_ENV}=1 to skip PostgreSQL tests",
                    pytrace=False)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine) -> Iterator[str]:
    """A migrated, empty PostgreSQL database that test databases are copied from (saves the DDL)."""
    name = f"gs_tmpl_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        engine = make_engine(f"{PG_SERVER}/{name}")
        try:
            migrate(engine)
        finally:
            engine.dispose()  # a template must have no open connection when it is copied
        yield name
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, empty databases: ``new_database("sqlite" | "postgres") -> url``."""
    created: list[str] = []
    admin: Engine | None = None

    def make(dialect: str) -> str:
        nonlocal admin
        name = f"gs_test_{secrets.token_hex(6)}"
        if dialect == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        if dialect != "postgres":
            raise ValueError(f"unknown dialect {dialect!r}")
        admin = request.getfixturevalue("pg_admin")
        template = request.getfixturevalue("pg_template")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
            # a test database need not survive a crash: commits skip the WAL flush
            conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
        created.append(name)
        return f"{PG_SERVER}/{name}"

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(dialect: str, new_database: Callable[[str], str]) -> str:
    """A fresh, empty database on each dialect."""
    return new_database(dialect)


@pytest.fixture
def pg_url(new_database: Callable[[str], str]) -> str:
    """A fresh, empty PostgreSQL database (for PostgreSQL-only tests)."""
    return new_database("postgres")


@pytest.fixture
def open_platform(new_database: Callable[[str], str]) -> Iterator[Callable[..., Platform]]:
    """``open_platform(url, policy=None)``: a platform whose engine is disposed at teardown.

    Declared after ``new_database`` so that engines are disposed before databases are dropped.
    """
    opened: list[Platform] = []

    def make(url: str, policy: Policy | None = None) -> Platform:
        plat = Platform.open(url, policy)
        opened.append(plat)
        return plat

    yield make
    for plat in opened:
        plat.engine.dispose()


def policy_with_hold(hold_periods: int) -> Policy:
    """The default policy with ``payouts.hold_periods`` set (0: earnings withdrawable at once)."""
    text_ = default_policy_text()
    assert "hold_periods = 1\n" in text_
    return parse_policy_text(text_.replace("hold_periods = 1\n", f"hold_periods = {hold_periods}\n", 1))


@pytest.fixture
def platform(db_url: str, open_platform: Callable[..., Platform]) -> Platform:
    """A platform on a fresh database, under the default policy."""
    return open_platform(db_url)


@dataclass
class City:
    """The worked example's parties (MODEL.md section 9) and a counter of idempotency keys."""

    platform: Platform
    region: int
    partner: int
    promoter: int
    bm: int
    home: int      # H: brought A in
    merchant: int  # M: catering, 20%, BM 1%, signed by the promoter
    referrer: int  # B
    consumer: int  # A: referred by B, home merchant H
    _keys: list[int] = field(default_factory=lambda: [0])

    def key(self, prefix: str = "k") -> str:
        self._keys[0] += 1
        return f"{prefix}-{self._keys[0]}"

    def order(self, amount_fen: int, voucher_fen: int = 0, *, consumer: int | None = None,
              merchant: int | None = None, key: str | None = None) -> OrderResult:
        """Place an order (A at M by default) under a fresh idempotency key; a voucher part
        comes with a pay code the consumer issues for it."""
        return self.platform.order(self.request(amount_fen, voucher_fen, consumer=consumer,
                                                merchant=merchant, key=key))

    def request(self, amount_fen: int, voucher_fen: int = 0, *, consumer: int | None = None,
                merchant: int | None = None, key: str | None = None) -> OrderRequest:
        """An order (A at M by default); for a voucher part, the consumer issues a pay code."""
        consumer = consumer if consumer is not None else self.consumer
        merchant = merchant if merchant is not None else self.merchant
        code = self.platform.pay_code(consumer, voucher_fen).code if voucher_fen > 0 else None
        return OrderRequest(consumer, merchant, amount_fen, voucher_fen,
                            key if key is not None else self.key("order"), code)

    def add_merchant(self, name: str, channel: str = "alliance", *, category: str = "retail",
                     rate: str | None = "0.10", accepts_vouchers: bool = True, **extra: Any) -> int:
        return self.platform.merchant(MerchantTerms(name, category, channel, self.region, rate,
                                                    accepts_vouchers, **extra))


def build_city(plat: Platform) -> City:
    """MODEL.md section 9's city on ``plat``."""
    region = plat.region("Hangzhou", "city", merchant_universe=1000)
    partner = plat.partner("Partner P", region, 50_000_000)
    promoter = plat.promoter("Promoter Q", partner)
    bm = plat.business_manager("BM K")
    home = plat.merchant(MerchantTerms("Merchant H", "retail", "alliance", region))
    merchant = plat.merchant(MerchantTerms("Merchant M", "catering", "alliance", region, "0.20",
                                           True, bm, "0.01", promoter))
    referrer = plat.consumer("Consumer B")
    consumer = plat.consumer("Consumer A", referrer, home)
    return City(plat, region, partner, promoter, bm, home, merchant, referrer, consumer)


@pytest.fixture
def city(platform: Platform) -> City:
    """The worked example's city on a fresh database (default policy)."""
    return build_city(platform)


@pytest.fixture
def unheld_city(db_url: str, open_platform: Callable[..., Platform]) -> City:
    """The worked example's city under a policy without holds (``hold_periods = 0``): for tests
    of withdrawals themselves, where earnings are to be withdrawable at once."""
    return build_city(open_platform(db_url, policy_with_hold(0)))


@pytest.fixture
def make_city() -> Callable[[Platform], City]:
    """``make_city(platform)``: the worked example's city on a platform opened by the test."""
    return build_city
