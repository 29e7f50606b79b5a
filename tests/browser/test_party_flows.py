"""The parties act from their own pages, in chromium, each step checked against the API and the
books: a newcomer joins from a referral link and buys with its pay code; a BM signs a merchant
that the operator approves and that sets its password from the invitation; a consumer exchanges
points for store units and receives its share of a declared profit.

Runs on its own small demo city (the flows write to it), served by uvicorn. Screenshots of every
new page at phone (390 px) and desktop (1280 px) width go to ``screenshots/``; page load times
are measured in the browser and summarised at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import create_engine, select, update

from gongsheng.adapters import tables as t
from gongsheng.entrypoints.demo import DemoConfig, known_passwords, run_demo
from gongsheng.services.platform import Platform

from .conftest import PASSWORD, SECRET, TIMINGS, _free_port, measure, screenshot

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class City:
    """The served demo city: its address, database, logins and a few parties to act as."""

    base: str
    url: str
    passwords: dict[str, str]
    referrer: int
    referral_code: str
    merchant: int
    other_merchant: int
    consumer: int
    bm: int
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str, password: str | None = None) -> str:
        if username in self.tokens:
            return self.tokens[username]
        response = httpx.post(self.base + "/api/v1/auth/token", data={
            "username": username, "password": password or self.passwords[username]})
        response.raise_for_status()
        self.tokens[username] = str(response.json()["access_token"])
        return self.tokens[username]

    def api(self, who: str, path: str, method: str = "GET", **kwargs: Any) -> Any:
        token = kwargs.pop("token", None) or self.token(who)
        headers = {"Authorization": "Bearer " + token, **kwargs.pop("headers", {})}
        response = httpx.request(method, self.base + "/api/v1" + path, headers=headers,
                                  timeout=60, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def close_period(self) -> Any:
        return self.api("admin", "/periods/close", "POST",
                        headers={"Idempotency-Key": f"close-{uuid.uuid4()}"})


def _pick(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            m, c = t.merchants, t.consumers
            merchants = conn.execute(select(m.c.party_id).where(
                m.c.accepts_vouchers, m.c.active, m.c.channel != "mall")
                .order_by(m.c.party_id)).scalars().all()
            referrer, code = conn.execute(select(c.c.party_id, c.c.referral_code).where(
                c.c.referral_code.is_not(None)).order_by(c.c.party_id)).first() or (None, None)
            consumer = conn.execute(select(c.c.party_id).where(c.c.party_id != referrer)
                                    .order_by(c.c.party_id.desc())).scalars().first()
            bm = conn.execute(select(t.business_managers.c.party_id)
                              .order_by(t.business_managers.c.party_id)).scalars().first()
    finally:
        engine.dispose()
    return {"referrer": int(referrer), "referral_code": str(code), "merchant": int(merchants[0]),
            "other_merchant": int(merchants[1]), "consumer": int(consumer), "bm": int(bm)}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder = tmp_path_factory.mktemp("flows")
    url = f"sqlite:///{folder / 'flows.db'}"
    plat = Platform.open(url)
    logins = folder / "logins.csv"
    run_demo(plat, DemoConfig(periods=3, consumers=30, merchants=8, seed=7), password=PASSWORD,
             logins_file=logins)
    plat.engine.dispose()
    port = _free_port()
    env = {**os.environ, "GONGSHENG_DB": url, "GONGSHENG_SECRET_KEY": SECRET,  # many sign-ins, one address
           "GONGSHENG_SIGN_IN_LIMIT_PER_ADDRESS": "1000/minute",
           "GONGSHENG_SIGN_UP_LIMIT_PER_ADDRESS": "100/hour"}
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
                raise RuntimeError("the server did not start: " + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        yield City(base, url, known_passwords(logins), **_pick(url))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def open_page(browser: Browser, size: dict[str, int], lang: str = "zh-CN") -> Page:
    context = browser.new_context(viewport=size, locale=lang)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in(page: Page, city: City, username: str, password: str | None = None) -> None:
    page.goto(city.base + "/login")
    page.fill("#username", username)
    page.fill("#password", password or city.passwords[username])
    page.click("#login-submit")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[-800:]


def value(page: Page, selector: str) -> int:
    raw = page.locator(selector).first.get_attribute("data-v")
    assert raw not in (None, ""), selector
    return int(str(raw))


def both_widths(browser: Browser, city: City, username: str, password: str | None, name: str,
                path: str) -> None:
    """Screenshot a page at phone and desktop width, measuring its load in the browser."""
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(browser, size)
        sign_in(page, city, username, password)
        measure(page, f"{name} ({label})", city.base + path)
        assert page.locator("body").evaluate("b => b.scrollWidth") <= size["width"] + 1, (name, label)
        screenshot(page, f"{name}-{label}")
        page.context.close()


def ring_up(page: Page, city: City, merchant: int, amount: str, code: str) -> int:
    """The cashier's form: amount and code; returns the receipt's order id."""
    page.goto(f"{city.base}/merchant/{merchant}/cashier")
    page.fill("#amount", amount)
    page.fill("#code", code)
    page.click("#cashier-submit")
    page.wait_for_url(re.compile(rf".*/merchant/{merchant}/orders/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def verify(city: City) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gongsheng", "verify", "--db", city.url],
                          capture_output=True, text=True, timeout=120)


# --- a newcomer joins, buys, and spends its vouchers ----------------------------------------

def test_newcomer_joins_buys_and_spends_vouchers(browser: Browser, city: City) -> None:
    merchant_user = f"merchant-{city.merchant}"
    referrer_before = city.api(f"consumer-{city.referrer}", f"/wallets/{city.referrer}")
    phone = open_page(browser, PHONE)
    phone.goto(f"{city.base}/join?ref={city.referral_code}")
    screenshot(phone, "join-phone")
    phone.fill("#name", "Newcomer Li")
    phone.fill("#username", "newcomer.li")
    phone.fill("#password", "newcomer.li-2026")  # refused: it contains the username
    phone.click("#join-submit")
    assert phone.locator("#form-error").is_visible()
    assert phone.input_value("#username") == "newcomer.li"
    phone.fill("#password", "newcomer-chooses-this-1")
    phone.click("#join-submit")
    phone.wait_for_url(re.compile(r".*/consumer/\d+$"))
    newcomer = int(phone.url.rsplit("/", 1)[1])
    api_me = city.api("", "/me", token=city.token("newcomer.li", "newcomer-chooses-this-1"))
    assert api_me["party"]["referrer_id"] == city.referrer
    phone.click("#nav-pay")
    member_code = phone.locator("#shown-code").inner_text()
    assert member_code == str(newcomer)
    screenshot(phone, "pay-phone")

    desk = open_page(browser, DESKTOP)
    sign_in(desk, city, merchant_user)
    first = ring_up(desk, city, city.merchant, "200.00", member_code)
    order = city.api(merchant_user, f"/orders/{first}")
    assert order["consumer_id"] == newcomer and order["amount_fen"] == 20_000
    assert value(desk, '[data-k="concession_fen"]') == order["concession_fen"]
    assert value(desk, '[data-k="consumer_cpts"]') == order["consumer_cpts"] > 0
    assert order["referrer_id"] == city.referrer and order["referrer_cpts"] == 1_000  # 5% of 200 yuan
    screenshot(desk, "receipt-desktop")
    referrer_after = city.api(f"consumer-{city.referrer}", f"/wallets/{city.referrer}")
    assert referrer_after["points_cpts"] - referrer_before["points_cpts"] == order["referrer_cpts"]
    ref_page = open_page(browser, PHONE)
    sign_in(ref_page, city, f"consumer-{city.referrer}")
    ref_page.goto(f"{city.base}/consumer/{city.referrer}")
    assert value(ref_page, '[data-k="points_cpts"]') == referrer_after["points_cpts"]

    city.close_period()  # the order's period
    city.close_period()  # the first release of its holdings
    wallet = city.api("newcomer.li", f"/wallets/{newcomer}",
                      token=city.token("newcomer.li", "newcomer-chooses-this-1"))
    assert wallet["vouchers_fen"] > 0, wallet
    phone.goto(f"{city.base}/consumer/{newcomer}/pay")
    assert value(phone, '[data-k="vouchers_fen"]') == wallet["vouchers_fen"]
    phone.click("#pay-submit")  # allows all of its vouchers
    phone.wait_for_selector("#pay-code .notice")
    pay_code = phone.locator("#shown-code").inner_text()
    assert pay_code.startswith(f"{newcomer}-") and phone.locator("#pay-code svg").count() == 1
    screenshot(phone, "pay-code-phone")

    desk.goto(f"{city.base}/merchant/{city.merchant}/cashier")
    before = len(city.api(merchant_user, "/orders?limit=200")["items"])
    desk.fill("#amount", "100.00")
    desk.fill("#code", pay_code)
    desk.locator("#cashier-submit").dblclick()  # a double click posts one order
    desk.wait_for_url(re.compile(rf".*/merchant/{city.merchant}/orders/\d+$"))
    second = int(desk.url.rsplit("/", 1)[1])
    assert len(city.api(merchant_user, "/orders?limit=200")["items"]) == before + 1
    sold = city.api(merchant_user, f"/orders/{second}")
    assert sold["voucher_fen"] == min(wallet["vouchers_fen"], 10_000) > 0
    assert value(desk, '[data-k="voucher_fen"]') == sold["voucher_fen"]
    # the same code again is refused, with the message the cashier reads
    desk.goto(f"{city.base}/merchant/{city.merchant}/cashier")
    desk.fill("#amount", "10.00")
    desk.fill("#code", pay_code)
    desk.click("#cashier-submit")
    reused = desk.locator("#form-error").inner_text()
    assert "pay code" in reused and len(city.api(merchant_user, "/orders?limit=200")["items"]) == before + 1
    screenshot(desk, "cashier-refused-desktop")

    # a partial refund from the merchant's order list
    desk.goto(f"{city.base}/merchant/{city.merchant}/orders")
    row = desk.locator(f'tr[data-order="{second}"]')
    row.locator("input.amount").fill("30.00")
    row.locator("button").click()
    desk.wait_for_url(re.compile(rf".*/orders/{second}\?refunded=3000$"))
    assert city.api(merchant_user, f"/orders/{second}")["refunded_fen"] == 3_000
    assert value(desk, '[data-k="refunded_fen"]') == 3_000
    result = verify(city)
    assert result.returncode == 0, result.stdout + result.stderr
    for p in (phone, desk, ref_page):
        p.context.close()


def test_an_expired_pay_code_and_another_merchants_pages_are_refused(browser: Browser, city: City) -> None:
    consumer_user = f"consumer-{city.consumer}"
    wallet = city.api(consumer_user, f"/wallets/{city.consumer}")
    if wallet["vouchers_fen"] == 0:
        pytest.skip("the demo consumer holds no vouchers")
    phone = open_page(browser, PHONE)
    sign_in(phone, city, consumer_user)
    phone.goto(f"{city.base}/consumer/{city.consumer}/pay")
    phone.fill("#allow", "0.01")
    phone.click("#pay-submit")
    phone.wait_for_selector("#pay-code .notice")
    code = phone.locator("#shown-code").inner_text()
    phone.context.close()
    engine = create_engine(city.url)
    with engine.begin() as conn:
        conn.execute(update(t.pay_codes).where(t.pay_codes.c.consumer_id == city.consumer)
                     .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    engine.dispose()
    page = open_page(browser, DESKTOP)
    sign_in(page, city, f"merchant-{city.merchant}")
    page.goto(f"{city.base}/merchant/{city.merchant}/cashier")
    page.fill("#amount", "10.00")
    page.fill("#code", code)
    page.click("#cashier-submit")
    assert "pay code" in page.locator("#form-error").inner_text()
    other = page.goto(f"{city.base}/merchant/{city.other_merchant}/orders")
    assert other is not None and other.status == 403
    other = page.goto(f"{city.base}/merchant/{city.other_merchant}/cashier")
    assert other is not None and other.status == 403
    page.context.close()


# --- a BM signs a merchant; the operator approves; the merchant sets its password -----------

def test_bm_signs_admin_approves_merchant_sets_password_and_sells(browser: Browser, city: City) -> None:
    bm_user = f"bm-{city.bm}"
    bm = open_page(browser, PHONE)
    sign_in(bm, city, bm_user)
    bm.click("#nav-sign")
    bm.fill("#m-name", "Dumpling Corner")
    bm.fill("#m-category", "catering")
    bm.fill("#m-rate", "3%")
    bm.fill("#m-bm-rate", "3%")
    previewed = "(p) => (document.querySelector('#sign-form').dataset.previewed || '').includes(p)"
    bm.wait_for_function(previewed, arg="bm_rate=3%25")
    assert bm.locator("#preview-error").is_visible()
    live_reason = bm.locator("#preview-error").inner_text()
    bm.click("#sign-submit")
    assert bm.locator("#form-error").inner_text() == live_reason  # refused on the page, with the reason
    screenshot(bm, "sign-refused-phone")
    bm.fill("#m-rate", "15%")
    bm.fill("#m-bm-rate", "2%")
    bm.wait_for_function(previewed, arg="bm_rate=2%25")
    assert bm.locator("#preview-table").is_visible() and not bm.locator("#preview-error").is_visible()
    assert value(bm, '[data-f="concession_fen"]') == 1_500  # 15% of the 100-yuan example
    region = int(bm.locator("#m-region").input_value())
    quote = city.api(bm_user, "/merchant-signings/preview", "POST", json={
        "name": "Dumpling Corner", "category": "catering", "channel": "alliance", "region_id": region,
        "concession_rate": "15%", "bm_rate": "2%"})
    for part in quote["parts"]:
        assert value(bm, f'[data-part="{part["part"]}"]') == part["amount_fen"]
    assert value(bm, '[data-f="pool_fen"]') == quote["pool_fen"]
    screenshot(bm, "sign-phone")
    bm.click("#sign-submit")
    bm.wait_for_selector("#signed")
    merchant = int(re.findall(r"\d+", bm.locator("#signed").inner_text())[-1])
    assert bm.locator(f'#signings tr[data-merchant="{merchant}"]').get_attribute("data-status") == "pending"

    admin = open_page(browser, DESKTOP, "en-US")
    sign_in(admin, city, "admin", PASSWORD)
    admin.click("#nav-signings")
    screenshot(admin, "admin-signings-desktop")
    admin.locator(f'tr[data-merchant="{merchant}"] form.approve button').click()
    link = admin.locator("#invitation-link").get_attribute("href")
    assert link and "/invite/" in link
    screenshot(admin, "invitation-desktop")

    shop = open_page(browser, PHONE)
    shop.goto(link)
    screenshot(shop, "invite-phone")
    shop.fill("#username", "dumpling.corner")
    shop.fill("#password", "dumplings-all-day-1")
    shop.click("#invite-submit")
    shop.wait_for_url(f"{city.base}/merchant/{merchant}")
    again = shop.goto(link)
    assert again is not None and again.status == 404  # the link is spent
    order_id = ring_up(shop, city, merchant, "88.00", str(city.consumer))
    token = city.token("dumpling.corner", "dumplings-all-day-1")
    order = city.api("", f"/orders/{order_id}", token=token)
    parts = {a["part"]: a for a in order["allocations"]}
    assert parts["bm_commission"]["party_id"] == city.bm and parts["bm_commission"]["amount_fen"] == 176
    screenshot(shop, "receipt-phone")
    for p in (bm, admin, shop):
        p.context.close()


# --- the store: points for units, a declared profit ------------------------------------------

def test_consumer_exchanges_points_and_receives_a_declared_profit(browser: Browser, city: City) -> None:
    merchant_user, consumer_user = f"merchant-{city.other_merchant}", f"consumer-{city.consumer}"
    shop = open_page(browser, DESKTOP)
    sign_in(shop, city, merchant_user)
    ring_up(shop, city, city.other_merchant, "500.00", str(city.consumer))  # fresh, unreleased points
    shop.click("#nav-mstore")
    shop.fill("#unit-price", "1.00")
    shop.fill("#units", "100")
    shop.fill("#share", "50%")
    shop.click("#open-submit")
    shop.wait_for_selector("#store-done")
    programme = int(str(shop.locator("section.programme").last.get_attribute("data-programme")))
    screenshot(shop, "merchant-store-desktop")

    phone = open_page(browser, PHONE)
    sign_in(phone, city, consumer_user)
    before = city.api(consumer_user, f"/wallets/{city.consumer}")
    phone.click("#nav-store")
    row = phone.locator(f'tr[data-programme="{programme}"]')
    row.locator("input.units").fill("5")
    row.locator("button").click()
    phone.wait_for_selector("#quote")
    quote = city.api(consumer_user, f"/share-programmes/{programme}/quote?units=5")
    assert value(phone, '[data-k="cap_forfeited_fen"]') == quote["cap_forfeited_fen"] == 2_500  # 5 points x 5
    assert value(phone, '[data-k="cost_cpts"]') == 500
    screenshot(phone, "store-quote-phone")
    phone.click("#exchange-submit")
    phone.wait_for_selector("#exchanged")
    after = city.api(consumer_user, f"/wallets/{city.consumer}")
    assert after["units_cpts"] - before["units_cpts"] == 500
    assert before["points_cpts"] - after["points_cpts"] == 500

    city.close_period()  # the dividend is paid from the merchant's available (no longer held) cash
    shop.goto(f"{city.base}/merchant/{city.other_merchant}/store")
    shop.once("dialog", lambda d: d.accept())
    form = shop.locator(f'section[data-programme="{programme}"] form.profit-form')
    form.locator("input.profit").fill("100.00")
    form.locator("button").click()
    shop.wait_for_selector("#store-done")
    city.close_period()
    settled = city.api(consumer_user, f"/wallets/{city.consumer}")
    statement = city.api(consumer_user, f"/statements/{city.consumer}")
    dividends = sum(p["vouchers_fen"].get("dividend", 0) for p in statement["periods"])
    assert dividends >= 5_000 and settled["vouchers_fen"] >= after["vouchers_fen"] + 5_000
    result = verify(city)
    assert result.returncode == 0, result.stdout + result.stderr
    for p in (shop, phone):
        p.context.close()


# --- every new page at both widths, and their load times --------------------------------------

def test_every_new_page_at_phone_and_desktop_width(browser: Browser, city: City) -> None:
    start = len(TIMINGS)
    m, c, b = city.merchant, city.consumer, city.bm
    pages = [(f"consumer-{c}", None, "pay", f"/consumer/{c}/pay"),
             (f"consumer-{c}", None, "consumer-store", f"/consumer/{c}/store"),
             (f"consumer-{c}", None, "password", "/account/password"),
             (f"merchant-{m}", None, "cashier", f"/merchant/{m}/cashier"),
             (f"merchant-{m}", None, "merchant-orders", f"/merchant/{m}/orders"),
             (f"merchant-{m}", None, "merchant-store", f"/merchant/{m}/store"),
             (f"bm-{b}", None, "sign", "/sign"),
             ("admin", PASSWORD, "admin-signings", "/admin/signings?status=approved"),
             ("admin", PASSWORD, "admin-parties", "/admin/parties?kind=consumer"),
             ("admin", PASSWORD, "admin-partners", "/admin/partners")]
    partner = next(u for u in city.passwords if u.startswith("partner-"))
    pages.append((partner, None, "team", f"/partner/{partner.split('-')[1]}/team"))
    for user, password, name, path in pages:
        both_widths(browser, city, user, password, name, path)
    loads = sorted(r["load"] for r in TIMINGS[start:])
    assert loads[len(loads) // 2] < 300, loads  # the median page loads in under 300 ms
