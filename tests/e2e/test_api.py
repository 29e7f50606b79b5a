"""The HTTP API through a client: every route's success, its error statuses, and ownership.

Order, refund, wallet and ownership tests run on SQLite and PostgreSQL; the rest on SQLite.
Every error must be ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest

from gongsheng.adapters.policy_file import default_policy_text

from .conftest import PASSWORD, SECRET, Api

sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])
ORDER_FEN = 100_000  # MODEL.md section 9: 1000.00 yuan at 20%


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is a problem of ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return dict(body)


def order(api: Api, amount: int = ORDER_FEN, *, who: str = "merchant", key: str = "o-1",
          **body: Any) -> Any:
    payload = {"consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
               "amount_fen": amount, "voucher_fen": 0, **body}
    return api.call("POST", "/orders", who, key=key, json=payload)


# --- orders, refunds, wallets, ownership: both dialects -------------------------------------

def test_order_waterfall_replay_and_conflict(api: Api) -> None:
    first = order(api)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["concession_fen"] == 20_000 and body["consumer_cpts"] == 20_000
    parts = {a["part"]: a["amount_fen"] for a in body["allocations"]}
    assert parts == {"platform_fee": 4000, "partner_dividend": 3000, "ground_commission": 2000,
                     "bm_commission": 1000, "acquisition_reward": 1000}
    assert body["pool_fen"] == 9000 and body["referrer_cpts"] == 5000
    again = order(api)
    assert again.status_code == 200 and again.json()["order_id"] == body["order_id"]
    assert again.json()["replayed"] is True
    problem(order(api, 99_999), 409)
    problem(api.call("POST", "/orders", "merchant", json={
        "consumer_id": api.city.consumer, "merchant_id": api.city.merchant, "amount_fen": 1}), 422)
    problem(order(api, 0, key="o-2"), 422)
    problem(order(api, 100, key="o-3", voucher_fen=200), 422)
    problem(order(api, key="o-4", consumer_id=10**6), 404)
    problem(order(api, who="consumer", key="o-5"), 403)  # never declared by the consumer
    problem(order(api, who="home", key="o-6"), 403)      # another merchant
    problem(api.call("POST", "/orders", None, key="o-7", json={}), 401)
    assert order(api, who="admin", key="o-8").status_code == 201


def test_refunds(api: Api) -> None:
    placed = order(api).json()
    oid = placed["order_id"]
    partial = api.call("POST", f"/orders/{oid}/refunds", "merchant", key="r-1", json={"amount_fen": 40_000})
    assert partial.status_code == 201, partial.text
    assert partial.json()["refunded_total_fen"] == 40_000
    assert partial.json()["concession_reversed_fen"] == 8_000
    replay = api.call("POST", f"/orders/{oid}/refunds", "merchant", key="r-1", json={"amount_fen": 40_000})
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    problem(api.call("POST", f"/orders/{oid}/refunds", "merchant", key="r-1", json={"amount_fen": 1}), 409)
    problem(api.call("POST", f"/orders/{oid}/refunds", "merchant", key="r-2",
                     json={"amount_fen": 60_001}), 422)
    problem(api.call("POST", f"/orders/{oid}/refunds", "merchant", json={"amount_fen": 1}), 422)
    problem(api.call("POST", f"/orders/{oid}/refunds", "home", key="r-3", json={"amount_fen": 1}), 404)
    problem(api.call("POST", f"/orders/{oid}/refunds", "consumer", key="r-4", json={"amount_fen": 1}), 403)
    problem(api.call("POST", "/orders/999999/refunds", "admin", key="r-5", json={"amount_fen": 1}), 404)
    rest = api.call("POST", f"/orders/{oid}/refunds", "admin", key="r-6", json={"amount_fen": 60_000})
    assert rest.status_code == 201 and rest.json()["refunded_total_fen"] == ORDER_FEN
    wallet = api.call("GET", f"/wallets/{api.city.consumer}", "consumer").json()
    assert wallet["points_cpts"] == 0


def test_wallets_and_ownership(api: Api) -> None:
    order(api)
    mine = api.call("GET", f"/wallets/{api.city.consumer}", "consumer")
    assert mine.status_code == 200, mine.text
    wallet = mine.json()
    assert wallet["points_cpts"] == 20_000 and wallet["kind"] == "consumer"
    assert wallet["holdings"][0]["cap_fen"] == 100_000
    assert wallet["holdings"][0]["released_fraction"] == "0"
    body = problem(api.call("GET", f"/wallets/{api.city.consumer}", "referrer"), 403)
    assert "points_cpts" not in body
    problem(api.call("GET", f"/wallets/{api.city.merchant}", "consumer"), 403)
    problem(api.call("GET", f"/wallets/{api.city.consumer}", None), 401)
    assert api.call("GET", f"/wallets/{api.city.consumer}", "admin").json()["points_cpts"] == 20_000
    assert api.call("GET", f"/wallets/{api.city.merchant}", "merchant").json()["points_cpts"] == 20_000
    problem(api.call("GET", "/wallets/987654", "admin"), 404)
    problem(api.call("GET", "/wallets/0", "admin"), 422)
    problem(api.call("GET", "/wallets/abc", "admin"), 422)
    # orders: own only
    oid = api.call("GET", "/orders", "consumer").json()["items"][0]["order_id"]
    assert api.call("GET", f"/orders/{oid}", "consumer").status_code == 200
    assert api.call("GET", f"/orders/{oid}", "merchant").status_code == 200
    problem(api.call("GET", f"/orders/{oid}", "referrer"), 404)  # another's: as if unknown
    problem(api.call("GET", f"/orders/{oid}", "home"), 404)
    problem(api.call("GET", "/orders/424242", "admin"), 404)
    assert api.call("GET", "/orders", "referrer").json()["items"] == []
    assert len(api.call("GET", "/orders", "merchant").json()["items"]) == 1
    assert api.call("GET", "/orders", "home").json()["items"] == []
    problem(api.call("GET", "/orders", "promoter"), 403)


# --- the rest: SQLite ------------------------------------------------------------------------

@sqlite_only
def test_auth_token_and_me(api: Api) -> None:
    form = {"username": "alice", "password": PASSWORD}
    got = api.client.post("/api/v1/auth/token", data=form)
    assert got.status_code == 200, got.text
    token = got.json()
    assert token["token_type"] == "bearer" and token["role"] == "consumer"
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["party_id"] == api.city.consumer
    assert me.json()["party"]["referral_code"]
    assert api.call("GET", "/me", "admin").json() == {"username": "admin", "role": "admin",
                                                      "party_id": None, "party": None}
    bad = api.client.post("/api/v1/auth/token", data={"username": "alice", "password": "wrong-password"})
    problem(bad, 401)
    assert bad.headers["www-authenticate"] == "Bearer"
    problem(api.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 9}), 401)
    problem(api.client.post("/api/v1/auth/token", data={"username": "alice"}), 422)
    expired = jwt.encode({"sub": "admin", "role": "admin", "party_id": None, "iss": "gongsheng",
                          "exp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}, SECRET, "HS256")
    problem(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    forged = jwt.encode({"sub": "admin", "role": "admin", "party_id": None, "iss": "gongsheng",
                         "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)}, "other" * 10, "HS256")
    problem(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    problem(api.client.get("/api/v1/me"), 401)


@sqlite_only
def test_registrations(api: Api) -> None:
    region = api.call("POST", "/regions", json={"name": "Suzhou", "merchant_universe": 400})
    assert region.status_code == 201, region.text
    rid = region.json()["region_id"]
    problem(api.call("POST", "/regions", json={"name": "X", "level": "galaxy"}), 422)
    problem(api.call("POST", "/regions", json={"name": "X", "parent_id": 9999}), 404)
    problem(api.call("POST", "/regions", "partner", json={"name": "X"}), 403)
    partner = api.call("POST", "/partners", json={
        "name": "P2", "region_id": rid, "investment_fen": 10**7,
        "login": {"username": "p2", "password": PASSWORD}})
    assert partner.status_code == 201 and partner.json()["username"] == "p2"
    pid = partner.json()["party_id"]
    problem(api.call("POST", "/partners", json={"name": "P3", "region_id": rid}), 409)
    promoter = api.call("POST", "/promoters", json={"name": "Q2", "partner_id": pid})
    assert promoter.status_code == 201 and promoter.json()["kind"] == "promoter"
    assert api.call("POST", "/promoters", "partner", json={
        "name": "Q3", "partner_id": api.city.partner}).status_code == 201
    problem(api.call("POST", "/promoters", "partner", json={"name": "Q4", "partner_id": pid}), 403)
    problem(api.call("POST", "/promoters", json={"name": "Q5", "partner_id": 99999}), 404)
    bm = api.call("POST", "/business-managers", json={"name": "BM 2"})
    assert bm.status_code == 201 and bm.json()["kind"] == "bm"
    merchant = api.call("POST", "/merchants", json={
        "name": "Noodles", "category": "catering", "channel": "alliance", "region_id": rid,
        "bm_id": bm.json()["party_id"], "bm_rate": "0.02", "promoter_id": promoter.json()["party_id"],
        "login": {"username": "noodles", "password": PASSWORD}})
    assert merchant.status_code == 201, merchant.text
    problem(api.call("POST", "/merchants", json={
        "name": "Cheap", "category": "retail", "channel": "brand", "region_id": rid,
        "concession_rate": "0.03", "bm_id": bm.json()["party_id"], "bm_rate": "0.03"}), 422)
    problem(api.call("POST", "/merchants", json={
        "name": "Far", "category": "retail", "channel": "mall", "region_id": 99999}), 404)
    problem(api.call("POST", "/merchants", json={
        "name": "Odd", "category": "retail", "channel": "street", "region_id": rid}), 422)
    problem(api.call("POST", "/merchants", json={
        "name": "Extra", "category": "retail", "channel": "mall", "region_id": rid, "x": 1}), 422)
    consumer = api.call("POST", "/consumers", json={"name": "Carol"})
    assert consumer.status_code == 201 and consumer.json()["referral_code"]
    code = consumer.json()["referral_code"]
    signup = api.call("POST", "/consumers", None, json={
        "name": "Dave", "referrer_code": code, "home_merchant_id": merchant.json()["party_id"],
        "login": {"username": "dave", "password": PASSWORD}})
    assert signup.status_code == 201, signup.text
    token = api.client.post("/api/v1/auth/token", data={"username": "dave", "password": PASSWORD})
    assert token.status_code == 200 and token.json()["party_id"] == signup.json()["party_id"]
    problem(api.call("POST", "/consumers", None, json={"name": "Eve"}), 422)  # sign-up needs a login
    problem(api.call("POST", "/consumers", None, json={
        "name": "Eve", "referrer_code": "nope", "login": {"username": "eve", "password": PASSWORD}}), 404)
    problem(api.call("POST", "/consumers", None, json={
        "name": "Eve", "login": {"username": "dave", "password": PASSWORD}}), 409)
    problem(api.call("POST", "/consumers", "consumer", json={"name": "Fay"}), 403)
    problem(api.client.post("/api/v1/consumers", json={"name": "Fay"},
                            headers={"Authorization": "Bearer not-a-token"}), 401)
    problem(api.call("POST", "/business-managers", "bm", json={"name": "BM 3"}), 403)


@sqlite_only
def test_periods_kpis_trial_balance_and_risk(api: Api) -> None:
    order(api)
    problem(api.call("POST", "/periods/close", "merchant", key="c0"), 403)
    problem(api.call("POST", "/periods/close", json={"period": 1}), 422)  # no Idempotency-Key
    closed = api.call("POST", "/periods/close", key="c1", json={"period": 1})
    assert closed.status_code == 200, closed.text
    summary = closed.json()
    assert summary["period"] == 1 and summary["already_closed"] is False
    assert summary["figures"]["gmv_fen"] == ORDER_FEN
    again = api.call("POST", "/periods/close", key="c1b", json={"period": 1})
    assert again.status_code == 200 and again.json()["already_closed"] is True
    problem(api.call("POST", "/periods/close", key="c9", json={"period": 9}), 404)
    problem(api.call("POST", "/periods/close", key="c10", json={"period": "one"}), 422)
    assert api.call("POST", "/periods/close", key="c2").json()["period"] == 2  # the open period
    retried = api.call("POST", "/periods/close", key="c2")  # a retry of the same request
    assert retried.json()["period"] == 2 and retried.json()["already_closed"] is True
    kpis = api.call("GET", "/reports/kpis")
    assert kpis.status_code == 200
    assert [p["period"] for p in kpis.json()["periods"]] == [1, 2]
    assert kpis.json()["periods"][0]["orders"] == 1 and kpis.json()["open_period"]["period"] == 3
    problem(api.call("GET", "/reports/kpis", "partner"), 403)
    problem(api.call("GET", "/reports/kpis?since=0"), 422)
    tb = api.call("GET", "/ledger/trial-balance").json()
    assert tb["balanced"] is True and tb["totals"] == {"CNY": 0, "PTS": 0, "VCH": 0}
    assert any(a["account"] == "pool_available" for a in tb["accounts"])
    problem(api.call("GET", "/ledger/trial-balance", "consumer"), 403)
    risk = api.call("GET", "/risk")
    assert risk.status_code == 200 and risk.json()["last_closed"] == 2
    problem(api.call("GET", "/risk", "consumer"), 403)


@sqlite_only
def test_payouts_and_statements(api: Api) -> None:
    order(api, 1_000_000)  # partner dividend 300.00 yuan, above the 100-yuan threshold
    partner = api.city.partner
    held = api.call("GET", f"/statements/{partner}", "partner").json()
    assert (held["cash_balance_fen"], held["cash_held_fen"], held["cash_available_fen"]) == (
        30_000, 30_000, 0)
    assert held["holds"] == [{"earned_in_period": 1, "held_fen": 30_000, "available_from_period": 2}]
    refused = problem(api.call("POST", "/payouts", "partner", key="w-0", json={"amount_fen": 10_000}),
                      422)
    assert "held" in refused["detail"]  # held for one period (the default hold_periods)
    assert api.call("POST", "/periods/close", key="close-1", json={"period": 1}).status_code == 200
    problem(api.call("POST", "/payouts", "partner", json={"amount_fen": 10_000}), 422)  # no key
    paid = api.call("POST", "/payouts", "partner", key="w-1", json={"amount_fen": 10_000})
    assert paid.status_code == 201, paid.text
    assert paid.json() == {"payout_id": paid.json()["payout_id"], "party_id": partner,
                           "amount_fen": 10_000, "balance_after_fen": 20_000, "replayed": False}
    assert api.call("POST", "/payouts", "partner", key="w-1", json={"amount_fen": 10_000}).status_code == 200
    problem(api.call("POST", "/payouts", "partner", key="w-1", json={"amount_fen": 5}), 409)
    problem(api.call("POST", "/payouts", "partner", key="w-2", json={"amount_fen": 10**9}), 422)
    problem(api.call("POST", "/payouts", "consumer", key="w-3", json={
        "party_id": partner, "amount_fen": 100}), 403)
    problem(api.call("POST", "/payouts", "admin", key="w-4", json={"amount_fen": 100}), 422)
    problem(api.call("POST", "/payouts", "consumer", key="w-5", json={"amount_fen": 100}), 422)
    by_admin = api.call("POST", "/payouts", "admin", key="w-6", json={"party_id": partner, "amount_fen": 100})
    assert by_admin.status_code == 201
    statement = api.call("GET", f"/statements/{partner}", "partner")
    assert statement.status_code == 200
    earned, paid = statement.json()["periods"]
    assert earned["earned_fen"] == 30_000 and paid["paid_out_fen"] == -10_100
    assert statement.json()["cash_balance_fen"] == 19_900
    assert statement.json()["cash_available_fen"] == 19_900 and statement.json()["holds"] == []
    consumer = api.call("GET", f"/statements/{api.city.consumer}", "consumer").json()
    assert consumer["periods"][0]["points_cpts"]["order"] == 200_000
    problem(api.call("GET", f"/statements/{partner}", "consumer"), 403)
    problem(api.call("GET", "/statements/55555", "admin"), 404)


@sqlite_only
def test_partner_report_bm_merchants_and_policy(api: Api) -> None:
    order(api)
    report = api.call("GET", f"/partners/{api.city.partner}/report", "partner")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["dividends"] == [{"period": 1, "dividend_fen": 3000, "cumulative_fen": 3000}]
    assert body["payback"] == "0.0001" and body["region"]["merchants"] == 2
    assert body["team"][0]["promoter_id"] == api.city.promoter
    assert body["team"][0]["commissions_fen"] == 2000 and body["team"][0]["merchants_signed"] == 1
    problem(api.call("GET", f"/partners/{api.city.partner}/report", "promoter"), 403)
    problem(api.call("GET", f"/partners/{api.city.promoter}/report", "admin"), 404)
    bound = api.call("GET", f"/business-managers/{api.city.bm}/merchants", "bm")
    assert bound.status_code == 200
    assert [m["merchant_id"] for m in bound.json()["merchants"]] == [api.city.merchant]
    assert bound.json()["commissions_fen"] == 1000 and bound.json()["merchant_count"] == 1
    assert bound.json()["next_before"] is None
    problem(api.call("GET", f"/business-managers/{api.city.bm}/merchants?limit=0", "bm"), 422)
    problem(api.call("GET", f"/business-managers/{api.city.bm}/merchants", "merchant"), 403)
    problem(api.call("GET", f"/business-managers/{api.city.partner}/merchants", "admin"), 404)
    versions = api.call("GET", "/policy/versions", "consumer")
    assert versions.status_code == 200 and versions.json()["current_version_id"] == 1
    text = default_policy_text().replace('name = "default"', 'name = "faster"', 1)
    text = text.replace("nominal_periods = 40", "nominal_periods = 30", 1)
    scheduled = api.call("POST", "/policy/versions", json={"toml": text})
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["active_from_period"] == 2 and scheduled.json()["name"] == "faster"
    problem(api.call("POST", "/policy/versions", json={"toml": "name = ["}), 422)
    problem(api.call("POST", "/policy/versions", json={"toml": 'name = "x"'}), 422)
    problem(api.call("POST", "/policy/versions", "partner", json={"toml": text}), 403)
    api.call("POST", "/periods/close", key="close-1")
    after = api.call("GET", "/policy/versions").json()
    assert after["current_version_id"] == scheduled.json()["version_id"]


@sqlite_only
def test_unknown_routes_methods_and_bodies(api: Api) -> None:
    problem(api.client.get("/nowhere"), 404)
    problem(api.client.get("/api/v1/nowhere"), 404)
    problem(api.client.delete("/api/v1/orders"), 405)
    problem(api.call("POST", "/orders", "merchant", key="k", content=b"{not json",
                     headers={"Content-Type": "application/json"}), 422)
    problem(api.call("POST", "/regions", content=b"[]", headers={"Content-Type": "application/json"}), 422)
    problem(api.call("GET", "/orders?limit=0", "admin"), 422)
    problem(api.call("GET", f"/wallets/{2**70}", "admin"), 422)


@sqlite_only
def test_openapi_lists_the_contract(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for path in ("/regions", "/merchants", "/consumers", "/business-managers", "/partners",
                 "/promoters", "/orders", "/orders/{order_id}/refunds", "/wallets/{party_id}",
                 "/periods/close", "/reports/kpis", "/ledger/trial-balance", "/auth/token"):
        assert "/api/v1" + path in paths
    responses = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert "application/problem+json" in responses["409"]["content"]
