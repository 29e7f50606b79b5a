"""The forecast on real books (SQLite and PostgreSQL): a database made by ``demo``, at a small size.

Covers the snapshot read, the refresh stored after a close, the wallet's and the API's bands,
the ``forecast`` controller reading the stored outlook at the next close, and a policy dry run
that writes nothing.
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text
from gongsheng.domain.policy import Controller
from gongsheng.domain.release import SCALE
from gongsheng.entrypoints import forecasting
from gongsheng.entrypoints.api.app import create_app
from gongsheng.entrypoints.api.auth import app_token_key, issue_token
from gongsheng.entrypoints.demo import DemoConfig, run_demo
from gongsheng.services import accounts, forecast_store
from gongsheng.services.platform import Platform
from gongsheng.services.policies import parse_policy
from gongsheng.services.unit_of_work import stores_on
from gongsheng.settings import Settings
from gongsheng.views.forecast import snapshot
from gongsheng.views.verification import verify

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SECRET = "test-secret-" + "y" * 40


@pytest.fixture
def demo_books(platform: Platform, tmp_path: Path) -> Platform:
    run_demo(platform, DemoConfig(periods=3, consumers=25, merchants=4, seed=5), password="pw-demo-1234",
             logins_file=tmp_path / "logins.csv")
    return platform


def _client(platform: Platform) -> tuple[TestClient, dict[str, str]]:
    password = "forecast admin passphrase 9241"
    platform.run(accounts.create_demo_accounts, [("fc-admin", "admin", None, password)])
    admin = platform.read(accounts.authenticate, "fc-admin", password)
    app = create_app(platform, Settings(secret_key=SECRET))
    return TestClient(app, raise_server_exceptions=True), {
        "Authorization": "Bearer " + issue_token(admin, app_token_key(app), 30)}


def test_snapshot_reads_the_books(demo_books: Platform) -> None:
    snap = demo_books.read(snapshot)
    assert len(snap.history) == 3 and snap.period == 4
    assert snap.pool_reserved_fen == snap.history[-1].pool_reserved_fen
    assert snap.consumer_vouchers_fen + snap.merchant_vouchers_fen + snap.voucher_debt_fen \
        == snap.pool_reserved_fen
    assert snap.groups and all(0 <= g.fraction <= SCALE for g in snap.groups)
    assert snap.merchants.total >= 3 and snap.registered_consumers >= 25
    assert 0 < snap.merchants.accepting <= snap.merchants.total  # shares of the non-mall merchants
    # merchants never pay with vouchers: they hold what their groups released (less the release's
    # rounding remainder, under a fen per holder and group, which stays in the reserve)
    merchants = demo_books.read(lambda c: c.execute(select(t.merchants.c.party_id)).scalars().all())
    held = sum(w.vouchers_fen + w.vouchers_withheld_fen
               for w in (demo_books.wallet(int(m)) for m in merchants))
    assert 0 <= snap.merchant_vouchers_fen - held <= len(merchants) * len(snap.groups)
    assert snap.merchant_vouchers_fen > 0 and snap.consumer_vouchers_fen > 0


def test_snapshot_reads_each_region_and_whether_a_partner_holds_it(demo_books: Platform) -> None:
    snap = demo_books.read(snapshot)
    r, p, m = t.regions, t.partners, t.merchants

    def regions(c: Any) -> list[tuple[int, bool]]:
        held = set(c.execute(select(p.c.region_id).where(p.c.active.is_(True))).scalars())
        rows = c.execute(select(r.c.id, r.c.merchant_universe).where(r.c.merchant_universe > 0))
        return sorted(((int(u), i in held) for i, u in rows), key=lambda x: -x[0])

    expect = demo_books.read(regions)
    assert [u for u, _ in snap.region_universes] == [u for u, _ in expect]
    assert sorted(snap.region_universes) == sorted(expect)
    assert snap.regions == len(expect) and snap.universe_total == sum(u for u, _ in expect)
    assert snap.held_regions == sum(h for _, h in expect) > 0
    in_held = demo_books.read(lambda c: c.execute(
        select(func.count()).select_from(m.join(p, (p.c.region_id == m.c.region_id)
                                                & p.c.active.is_(True)))
        .where(m.c.channel != "mall", m.c.active.is_(True))).scalar_one())
    assert snap.merchants.in_held_regions == in_held


def test_refresh_stores_a_forecast_the_wallet_and_the_api_show(demo_books: Platform) -> None:
    plat = demo_books
    assert plat.read(lambda c: forecast_store.due(stores_on(c)))
    doc = forecasting.refresh(plat)
    assert doc is not None and not plat.read(lambda c: forecast_store.due(stores_on(c)))
    assert forecasting.refresh(plat) is None  # not due again until the next close
    consumer = plat.read(lambda c: c.execute(select(t.consumers.c.party_id).join(
        t.holdings, t.holdings.c.holder_id == t.consumers.c.party_id).limit(1)).scalar_one())
    w = plat.wallet(int(consumer))
    bands = [h["projected_completion_period"] for h in w.holdings]
    assert bands and all(b is not None for b in bands)
    assert all(b["p10"] is None or b["p10"] > 3 for b in bands)  # completes after what is closed
    client, headers = _client(plat)
    with client:
        got = client.get("/api/v1/reports/forecast", headers=headers)
        assert got.status_code == 200
        body = got.json()
        assert body["starts_at_period"] == 4 and body["runs"] == doc["runs"]
        assert body["figures"]["release_rate"]["p50"] == doc["figures"]["release_rate"]["p50"]
        wallet = client.get(f"/api/v1/wallets/{consumer}", headers=headers).json()
        assert wallet["holdings"][0]["projected_completion_period"] == w.holdings[0][
            "projected_completion_period"]


def _counts(plat: Platform) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (("versions", t.policy_versions), ("forecasts", t.forecasts),
                                    ("entries", t.journal_entries), ("periods", t.periods))}
    return {**plat.read(read), "trial": plat.trial_balance(),
            "active_from": plat.read(lambda c: c.execute(
                select(t.policy_versions.c.id, t.policy_versions.c.active_from_period)
                .order_by(t.policy_versions.c.id)).all())}


def _policy_text(controller: str) -> str:
    text = default_policy_text()
    assert 'controller = "budget"' in text
    return text.replace('controller = "budget"', f'controller = "{controller}"').replace(
        'name = "', 'name = "preview ', 1)


def test_a_dry_run_writes_nothing(demo_books: Platform) -> None:
    before = _counts(demo_books)
    text = _policy_text("forecast")
    result = forecasting.preview(demo_books, parse_policy(text), periods=4, runs=3, seed=1)
    assert result["proposed"]["controller"] == "forecast" and result["current"]["controller"] == "budget"
    client, headers = _client(demo_books)
    before = _counts(demo_books)  # the admin login above is the only write
    with client:
        got = client.post("/api/v1/policy/versions?dry_run=true", json={"toml": text}, headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["dry_run"] is True and "current" in got.json() and "proposed" in got.json()
    assert _counts(demo_books) == before


def test_the_forecast_controller_closes_on_the_stored_outlook(
        demo_books: Platform, open_platform: Callable[..., Platform]) -> None:
    plat = demo_books
    policy = parse_policy(_policy_text("forecast"))
    assert tomllib.loads(_policy_text("forecast"))["release"]["controller"] == "forecast"
    assert policy.release.controller is Controller.FORECAST
    from gongsheng.services.books import schedule_policy

    plat.run(lambda uow: schedule_policy(uow, policy))
    plat.close_period()  # period 4 under the old policy; 5 opens under ``forecast``
    forecasting.refresh(plat)
    outlook = plat.read(lambda c: forecast_store.stored_outlook(stores_on(c), 5, Controller.FORECAST))
    assert outlook is not None and len(outlook.inflow_fen) >= 1
    closed = plat.close_period()
    assert closed.figures.controller == "forecast"
    assert all(check.ok for check in verify(plat))
