"""Bad input through the HTTP API is a problem, never a crash or a coerced value.

- a policy upload nested thousands deep was a ``RecursionError`` (500, or a reset connection);
- ``true``, ``"100"``, ``100.0`` and ``1e3`` were taken as integer amounts and ids;
- a period-close key reused with another body answered 200 with the other period's summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from gongsheng.adapters.policy_file import default_policy_text

from .conftest import Api
from .test_api import ORDER_FEN, order, problem

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])

NOT_INTEGERS: list[Any] = [True, "100", 100.0, 1e3]


def raw_post(api: Api, path: str, body: str, *, who: str = "admin", key: str | None = None) -> Any:
    """POST a JSON text as written (``1e3`` stays an exponent, not Python's 1000.0)."""
    return api.call("POST", path, who, key=key, content=body.encode(),
                    headers={"Content-Type": "application/json"})


def test_a_deeply_nested_policy_is_a_422(api: Api) -> None:
    for toml in ["x = " + "[" * 5_000 + "]" * 5_000,
                 default_policy_text() + "\nx = " + "{a = " * 2_000 + "1" + "}" * 2_000]:
        body = problem(api.call("POST", "/policy/versions", json={"toml": toml}), 422)
        assert "deep" in body["detail"]
    assert api.call("GET", "/policy/versions").json()["versions"][-1]["version_id"] == 1


def test_amounts_and_ids_must_be_json_integers(api: Api) -> None:
    city = api.city
    for n, bad in enumerate(NOT_INTEGERS):
        for field in ("amount_fen", "voucher_fen", "consumer_id", "merchant_id"):
            problem(order(api, key=f"bad-{n}-{field}", **{field: bad}), 422)
    fields = {"consumer_id": str(city.consumer), "merchant_id": str(city.merchant),
              "amount_fen": "1000", "voucher_fen": "0"}
    for name, raw in [("amount_fen", "1e3"), ("amount_fen", "1000.0"), ("amount_fen", "true"),
                      ("consumer_id", f"{city.consumer}.0"), ("voucher_fen", "0e0")]:
        body = "{" + ", ".join(f'"{k}": {raw if k == name else v}' for k, v in fields.items()) + "}"
        problem(raw_post(api, "/orders", body, who="merchant", key=f"raw-{name}-{raw}"), 422)
    assert api.call("GET", "/orders").json()["items"] == []  # nothing was placed

    placed = order(api, ORDER_FEN, key="good").json()
    for n, bad in enumerate(NOT_INTEGERS):
        problem(api.call("POST", f"/orders/{placed['order_id']}/refunds", key=f"r-{n}",
                         json={"amount_fen": bad}), 422)
        problem(api.call("POST", "/payouts", key=f"p-{n}",
                         json={"party_id": city.partner, "amount_fen": bad}), 422)
        problem(api.call("POST", "/payouts", key=f"q-{n}",
                         json={"party_id": bad, "amount_fen": 100}), 422)
        problem(api.call("POST", "/regions", json={"name": "R", "merchant_universe": bad}), 422)
        problem(api.call("POST", "/partners", json={"name": "P", "region_id": city.region,
                                                    "investment_fen": bad}), 422)
        problem(api.call("POST", "/periods/close", key=f"c-{n}", json={"period": bad}), 422)
    problem(raw_post(api, f"/orders/{placed['order_id']}/refunds", '{"amount_fen": 1e2}',
                     key="r-exp"), 422)
    assert api.call("GET", f"/orders/{placed['order_id']}").json()["refunded_fen"] == 0
    kpis = api.call("GET", "/reports/kpis").json()
    assert kpis["periods"] == [] and kpis["open_period"]["period"] == 1  # no close happened


def test_path_and_query_integers_are_plain_digits(api: Api) -> None:
    consumer = api.city.consumer
    assert api.call("GET", f"/wallets/{consumer}", "consumer").status_code == 200
    for text in [f"{consumer}.0", f"+{consumer}", f"{consumer}e0", f"0_{consumer}", "true"]:
        problem(api.call("GET", f"/wallets/{text}", "consumer"), 422)
    assert api.call("GET", "/orders?limit=5").status_code == 200
    for query in ["limit=5.0", "limit=+5", "offset=1e1", "limit=true"]:
        problem(api.call("GET", f"/orders?{query}"), 422)
    problem(api.call("GET", "/reports/kpis?since=1.0"), 422)


def test_a_close_key_reused_with_another_body_is_a_409(api: Api) -> None:
    order(api)
    first = api.call("POST", "/periods/close", key="close-a", json={"period": 1})
    assert first.status_code == 200 and first.json()["period"] == 1
    again = api.call("POST", "/periods/close", key="close-a", json={"period": 1})
    assert again.status_code == 200 and again.json() == first.json() | {"already_closed": True}
    body = problem(api.call("POST", "/periods/close", key="close-a", json={"period": 2}), 409)
    assert "close-a" in body["detail"]
    problem(api.call("POST", "/periods/close", key="close-a"), 409)  # no body is another body
    bare = api.call("POST", "/periods/close", key="close-b")
    assert bare.status_code == 200 and bare.json()["period"] == 2
    assert api.call("POST", "/periods/close", key="close-b").json()["period"] == 2
    problem(api.call("POST", "/periods/close", key="close-b", json={"period": 3}), 409)
    open_period = api.call("GET", "/reports/kpis").json()["open_period"]["period"]
    assert open_period == 3  # the refused requests closed nothing


def test_a_referral_code_is_read_as_typed(api: Api) -> None:
    carol_body = api.call("POST", "/consumers", json={"name": "Carol"}).json()
    carol, code = carol_body["party_id"], carol_body["referral_code"]
    assert len(code) == 8 and code == code.upper()
    typed = f" {code[:4].lower()}-{code[4:]} ".replace("1", "l").replace("0", "o")
    signup = api.call("POST", "/consumers", None, json={
        "name": "Dave", "referrer_code": typed,
        "login": {"username": "dave", "password": "correct-horse-battery"}})
    assert signup.status_code == 201, signup.text
    token = api.client.post("/api/v1/auth/token", data={
        "username": "dave", "password": "correct-horse-battery"}).json()["access_token"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["party_id"] == signup.json()["party_id"] and me["party"]["referrer_id"] == carol


def test_a_query_parameter_given_twice_is_refused(api: Api) -> None:
    """Every query parameter is one value: two of one name are refused, not silently the last."""
    assert api.call("GET", "/orders?limit=5").status_code == 200
    refused = api.call("GET", "/orders?limit=5&limit=6")
    assert refused.status_code == 422 and "more than once" in refused.json()["detail"]
    assert api.call("GET", "/events?after=&after=x").status_code == 422
