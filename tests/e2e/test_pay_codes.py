"""Through the API: vouchers move only by the consumer's pay code; errors tell no one what it may
not read (balances, which orders exist, which consumers exist).

The attacks here are requests a merchant or a stranger could send before pay codes existed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from .conftest import PASSWORD, Api
from .test_api import problem

HELD = 5_000  # A's vouchers after two releases of 25.00
sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])


@pytest.fixture
def stocked(api: Api) -> Api:
    """The API over a city where consumer A holds 50.00 of vouchers."""
    api.city.order(100_000)
    for _ in range(3):
        api.city.platform.close_period()
    assert api.city.platform.wallet(api.city.consumer).vouchers_fen == HELD
    return api


def _vouchers(api: Api) -> int:
    return int(api.call("GET", f"/wallets/{api.city.consumer}", "consumer").json()["vouchers_fen"])


def _order(api: Api, who: str, key: str, **body: Any) -> Any:
    merchant = api.city.home if who == "home" else api.city.merchant
    payload = {"consumer_id": api.city.consumer, "merchant_id": merchant, "amount_fen": 10_000,
               "voucher_fen": 0, **body}
    return api.call("POST", "/orders", who, key=key, json=payload)


def _issue(api: Api, who: str = "consumer", party: int | None = None, **body: Any) -> Any:
    party = api.city.consumer if party is None else party
    return api.call("POST", f"/consumers/{party}/pay-codes", who, json=body)


# --- item: a merchant could spend any consumer's vouchers ------------------------------------

def test_a_merchant_cannot_spend_a_consumer_s_vouchers_on_its_own(stocked: Api) -> None:
    """Merchant H, where A never bought, reports a sale paid with all of A's vouchers."""
    api = stocked
    problem(_order(api, "home", "steal-1", amount_fen=HELD, voucher_fen=HELD), 422)
    problem(_order(api, "home", "steal-2", amount_fen=HELD, voucher_fen=HELD,
                   pay_code="7K3M-Q9XD-2HWA"), 403)
    problem(_order(api, "admin", "steal-3", amount_fen=HELD, voucher_fen=HELD), 422)
    assert _vouchers(api) == HELD
    assert api.call("GET", "/orders", "home").json()["items"] == []


def test_the_consumer_s_pay_code_allows_one_sale(stocked: Api) -> None:
    api = stocked
    issued = _issue(api, max_voucher_fen=2_000, merchant_id=api.city.merchant)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    code = body["pay_code"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert (body["consumer_id"], body["merchant_id"], body["max_voucher_fen"]) == (
        api.city.consumer, api.city.merchant, 2_000)
    assert body["expires_in"] == 5 * 60
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(minutes=4) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=5)
    refusals = [problem(_order(api, "home", "h-1", voucher_fen=2_000, pay_code=code), 403)]
    refusals.append(problem(_order(api, "merchant", "m-0", voucher_fen=2_001, pay_code=code), 403))
    placed = _order(api, "merchant", "m-1", voucher_fen=2_000, pay_code=code)
    assert placed.status_code == 201, placed.text
    assert placed.json()["voucher_fen"] == 2_000
    assert _vouchers(api) == HELD - 2_000
    replay = _order(api, "merchant", "m-1", voucher_fen=2_000, pay_code=code)
    assert replay.status_code == 200 and replay.json()["order_id"] == placed.json()["order_id"]
    refusals.append(problem(_order(api, "merchant", "m-2", voucher_fen=2_000, pay_code=code), 403))
    assert len({(r["title"], r["detail"]) for r in refusals}) == 1
    assert _vouchers(api) == HELD - 2_000
    problem(_order(api, "merchant", "m-3", voucher_fen=0, pay_code=code), 422)


def test_only_the_consumer_itself_issues_its_pay_codes(stocked: Api) -> None:
    api = stocked
    mine = api.city.consumer
    answers = [problem(_issue(api, who, party, max_voucher_fen=100), 403)
               for who in ("admin", "merchant", "referrer", "home")
               for party in (mine, 987_654)]  # the same answer whether or not the party exists
    assert len({a["detail"] for a in answers}) == 1
    problem(_issue(api, None, max_voucher_fen=100), 401)
    for bad in ("100", 100.0, True, 0, -5, None):
        problem(_issue(api, max_voucher_fen=bad), 422)
    problem(_issue(api, max_voucher_fen=100, merchant_id="1"), 422)
    problem(_issue(api, max_voucher_fen=100, extra=1), 422)
    problem(_issue(api, max_voucher_fen=100, merchant_id=987_654), 404)
    code = _issue(api, max_voucher_fen=100).json()["pay_code"]
    revoked = api.call("DELETE", f"/consumers/{mine}/pay-codes", "consumer")
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
    problem(api.call("DELETE", f"/consumers/{mine}/pay-codes", "admin"), 403)
    problem(_order(api, "merchant", "rv", voucher_fen=100, pay_code=code), 403)
    assert _vouchers(api) == HELD


@pytest.mark.parametrize("bad", ["123", "x" * 100, 123456789012, ["7K3M-Q9XD-2HWA"]])
def test_a_malformed_pay_code_is_bad_input(stocked: Api, bad: Any) -> None:
    problem(_order(stocked, "merchant", "bad-code", voucher_fen=100, pay_code=bad), 422)


# --- item: balances and existence leak through errors ----------------------------------------

def test_a_refused_voucher_part_does_not_tell_the_consumer_s_balance(stocked: Api) -> None:
    api = stocked

    def tells_nothing(answer: dict[str, Any]) -> None:
        assert str(HELD) not in answer["detail"] and "50.00" not in answer["detail"], answer

    for who in ("home", "admin"):  # without a code: the consumer's balance is not even read
        tells_nothing(problem(_order(api, who, f"leak-{who}", amount_fen=10**9,
                                     voucher_fen=10**9 - 1), 422))
    code = _issue(api, max_voucher_fen=10**9).json()["pay_code"]  # with the consumer's code
    tells_nothing(problem(_order(api, "merchant", "leak-coded", amount_fen=10**9,
                                 voucher_fen=10**9 - 1, pay_code=code), 422))
    assert _vouchers(api) == HELD


def test_order_ids_do_not_tell_which_orders_exist(api: Api) -> None:
    oid = api.call("POST", "/orders", "merchant", key="o-1", json={
        "consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
        "amount_fen": 10_000, "voucher_fen": 0}).json()["order_id"]
    missing = oid + 1000

    def answers(method: str, path: str, who: str, **kw: Any) -> tuple[Any, ...]:
        got = [api.call(method, path.format(order), who, **kw) for order in (oid, missing)]
        shown = [(r.status_code, r.json()["title"], r.json()["detail"].replace(str(o), "N"))
                 for r, o in zip(got, (oid, missing), strict=True)]
        assert shown[0] == shown[1], shown
        return tuple(shown[0])

    assert answers("GET", "/orders/{}", "home")[0] == 404
    assert answers("GET", "/orders/{}", "referrer")[0] == 404
    assert answers("POST", "/orders/{}/refunds", "home", key="r", json={"amount_fen": 1})[0] == 404
    assert answers("POST", "/orders/{}/refunds", "partner", key="r",
                   json={"amount_fen": 1})[0] == 404


@sqlite_only
def test_signing_up_does_not_tell_which_consumers_exist(api: Api) -> None:
    def signup(referrer: int, name: str) -> Any:
        return api.call("POST", "/consumers", None, json={
            "name": name, "referrer_id": referrer,
            "login": {"username": name, "password": PASSWORD}})

    known, unknown = signup(api.city.consumer, "ann"), signup(987_654, "ben")
    assert known.status_code == unknown.status_code == 422
    assert known.json()["detail"] == unknown.json()["detail"]
    code = api.call("GET", "/me", "consumer").json()["party"]["referral_code"]
    assert api.call("POST", "/consumers", None, json={
        "name": "cid", "referrer_code": code,
        "login": {"username": "cid", "password": PASSWORD}}).status_code == 201


def test_pay_codes_are_in_the_openapi_document(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "post" in schema["paths"]["/api/v1/consumers/{party_id}/pay-codes"]
    assert "delete" in schema["paths"]["/api/v1/consumers/{party_id}/pay-codes"]
    order = schema["components"]["schemas"]["OrderIn"]["properties"]
    assert "consumer's pay code" in order["pay_code"]["description"]
    issued = schema["components"]["schemas"]["PayCodeIn"]["properties"]
    assert set(issued) == {"max_voucher_fen", "merchant_id"}
