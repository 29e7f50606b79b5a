"""Fixtures of the browser tests: a small demo database, a real uvicorn server, Debian's chromium.

- ``site``: ``gongsheng demo`` (:func:`run_demo`) at a small size on a SQLite file,
  then ``uvicorn`` serving the API and the pages on a free 127.0.0.1 port, in a subprocess;
- ``browser``: Debian's chromium (``/usr/bin/chromium``) driven by Playwright, headless and
  offline (no downloaded browser ever); when it is missing the tests fail, unless
  ``GONGSHENG_SKIP_BROWSER=1`` is set, in which case they are skipped;
- ``page``: a fresh browser context (no cookies) per test;
- page load times measured in the browser are collected, printed at the end of the run and
  written with the screenshots to ``screenshots/`` (not committed).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.entrypoints.demo import DemoConfig, known_passwords, run_demo
from gongsheng.services.platform import Platform

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SKIP_ENV = "GONGSHENG_SKIP_BROWSER"
PASSWORD = "browser-demo-password"
"""The demo admin's password (every other demo login has its own, read from the logins file)."""
SECRET = "browser-test-secret-" + "s" * 40
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
TIMINGS: list[dict[str, Any]] = []



@dataclass
class Site:
    """The server, the database behind it and the parties the tests sign in as."""

    base: str
    url: str
    parties: dict[str, int]
    others: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def password(self, username: str) -> str:
        return self.passwords[username]

    def username(self, role: str, party: int | None = None) -> str:
        return "admin" if role == "admin" else f"{role}-{party if party is not None else self.parties[role]}"

    def token(self, username: str) -> str:
        response = httpx.post(self.base + "/api/v1/auth/token",
                              data={"username": username, "password": self.password(username)})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self, username: str, path: str, method: str = "GET", **kwargs: Any) -> Any:
        headers = {"Authorization": "Bearer " + self.token(username), **kwargs.pop("headers", {})}
        response = httpx.request(method, self.base + "/api/v1" + path, headers=headers, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pick_parties(plat: Platform) -> tuple[dict[str, int], dict[str, int]]:
    """One party per role with something to show, and a second consumer (for the refusal test)."""
    with plat.engine.connect() as conn:
        o, m = t.orders, t.merchants
        busy_consumers = conn.execute(
            select(o.c.consumer_id).group_by(o.c.consumer_id)
            .order_by(func.count().desc(), o.c.consumer_id).limit(2)).scalars().all()
        merchant = conn.execute(select(t.share_programmes.c.merchant_id).limit(1)).scalar_one()
        bm = conn.execute(select(m.c.bm_id).where(m.c.bm_id.is_not(None)).group_by(m.c.bm_id)
                          .order_by(func.count().desc(), m.c.bm_id).limit(1)).scalar_one()
        promoter = conn.execute(select(m.c.promoter_id).where(m.c.promoter_id.is_not(None))
                                .group_by(m.c.promoter_id)
                                .order_by(func.count().desc(), m.c.promoter_id).limit(1)).scalar_one()
        partner = conn.execute(select(t.promoters.c.partner_id)
                               .where(t.promoters.c.party_id == promoter)).scalar_one()
    parties = {"consumer": int(busy_consumers[0]), "merchant": int(merchant), "bm": int(bm),
               "partner": int(partner), "promoter": int(promoter)}
    return parties, {"consumer": int(busy_consumers[1])}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A demo city (3 periods) served by uvicorn on a free port."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'demo.db'}"
    plat = Platform.open(url)
    run_demo(plat, DemoConfig(periods=3, consumers=30, merchants=8, seed=5), password=PASSWORD,
             logins_file=folder / "logins.csv")
    parties, others = _pick_parties(plat)
    plat.engine.dispose()
    passwords = known_passwords(folder / "logins.csv")
    port = _free_port()
    env = {**os.environ, "GONGSHENG_DB": url, "GONGSHENG_SECRET_KEY": SECRET,
           "GONGSHENG_SIGN_IN_LIMIT_PER_ADDRESS": "10000/minute",  # every test signs in from here
           "GONGSHENG_ATTESTATION_KEY_FILE": str(folder / "attestation.key")}
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gongsheng.entrypoints.api.app:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: "
                                   + (folder / "server.log").read_text("utf-8")[-2000:])
            time.sleep(0.1)
        yield Site(base, url, parties, others, passwords)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (scripts/services installs it)"
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"{reason}; {SKIP_ENV}=1")
        pytest.fail(f"{reason}; or set {SKIP_ENV}=1 to skip the browser tests", pytrace=False)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies), 1280 wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def measure(page: Page, name: str, url: str | None = None) -> dict[str, Any]:
    """Load ``url`` (default: the current page, again) and record the browser's navigation timing
    (ms) for the summary: a plain GET, so sign-in and its redirect are not counted."""
    page.goto(url or page.url)
    page.wait_for_function("() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0 && "
                           "(!document.getElementById('charts-data') || "
                           "document.body.dataset.chartsReady === '1')")
    timing = page.evaluate("""() => {
        const n = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const charts = performance.getEntriesByName('charts-drawn')[0];
        return {server: n.responseEnd - n.requestStart, paint: paint ? paint.startTime : null,
                load: n.loadEventEnd - n.startTime, charts: charts ? charts.startTime : null};
    }""")
    row = {"page": name, **{k: None if v is None else round(float(v), 1) for k, v in timing.items()}}
    TIMINGS.append(row)
    return row


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the page load times measured in the browser (and keep them beside the screenshots)."""
    if not TIMINGS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("page load times in chromium (ms)")
    write("server: request to last byte; paint: first contentful paint; load: the load event "
          "(figures and tables complete); charts: plotly.js fetched after load and every chart drawn")
    write(f"{'page':<26}{'server':>8}{'paint':>8}{'load':>8}{'charts':>8}")
    for row in TIMINGS:
        cells = ["" if row[k] is None else f"{row[k]:.0f}" for k in ("server", "paint", "load", "charts")]
        write(f"{row['page']:<26}" + "".join(f"{c:>8}" for c in cells))
    loads = [r["load"] for r in TIMINGS]
    drawn = [r["charts"] for r in TIMINGS if r["charts"] is not None]
    charts = (f"charts drawn: median {statistics.median(drawn):.0f} ms, max {max(drawn):.0f} ms"
              if drawn else "no charts drawn")
    write(f"load: median {statistics.median(loads):.0f} ms, max {max(loads):.0f} ms over {len(loads)} "
          f"pages; {charts}; screenshots in {SCREENSHOTS}")
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1), "utf-8")
