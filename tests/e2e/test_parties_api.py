"""The parties act through the API: signing, approval and invitations, partner terms and teams,
the shared-shareholder store, directories and password changes (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from gongsheng.adapters import tables as t

from .conftest import PASSWORD, Api
from .test_api import problem

TERMS = {"name": "Noodle Bar", "category": "catering", "channel": "alliance",
         "concession_rate": "0.15", "bm_rate": "0.02", "accepts_vouchers": True}


def sign(api: Api, who: str = "bm", **over: Any) -> Any:
    return api.call("POST", "/merchant-signings", who, json={**TERMS, "region_id": api.city.region, **over})


def accept(api: Api, token: str, username: str, password: str = "a-new-password-1") -> Any:
    return api.client.post(f"/api/v1/invitations/{token}/accept",
                           json={"username": username, "password": password})


def bearer(token_response: Any) -> dict[str, str]:
    assert token_response.status_code == 200, token_response.text
    return {"Authorization": "Bearer " + token_response.json()["access_token"]}


def test_bm_signs_admin_approves_merchant_sets_password_and_sells(api: Api) -> None:
    preview = api.call("POST", "/merchant-signings/preview", "bm",
                       json={**TERMS, "region_id": api.city.region, "amount_fen": 100_000})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["concession_fen"] == 15_000  # 15% of 1000 yuan
    parts = {p["part"]: p["amount_fen"] for p in body["parts"]}
    assert parts["bm_commission"] == 2_000 and parts["platform_fee"] == 3_000  # 2% of G, 20% of C
    assert sum(parts[p["part"]] for p in body["parts"] if not p["vacant"]) + body["pool_fen"] == 15_000
    assert not any(p["vacant"] for p in body["parts"] if p["part"] == "bm_commission")
    refused = problem(sign(api, concession_rate="0.03", bm_rate="0.03"), 422)
    assert "0.03" in refused["detail"] or "exceed" in refused["detail"]
    problem(api.call("POST", "/merchant-signings/preview", "bm", json={
        **TERMS, "region_id": api.city.region, "concession_rate": "0.03", "bm_rate": "0.03"}), 422)
    problem(sign(api, bm_id=api.city.bm + 1000), 403)  # a BM binds itself only
    problem(sign(api, "consumer"), 403)
    signed = sign(api)
    assert signed.status_code == 201, signed.text
    merchant = signed.json()["merchant_id"]
    assert signed.json()["status"] == "pending" and signed.json()["bm_id"] == api.city.bm
    # a pending merchant takes no order, even from an admin
    order = {"consumer_id": api.city.consumer, "merchant_id": merchant, "amount_fen": 10_000}
    problem(api.call("POST", "/orders", "admin", key="p-1", json=order), 422)
    listed = api.call("GET", "/merchant-signings?status=pending", "admin").json()
    assert [s["merchant_id"] for s in listed["items"]] == [merchant] and listed["next_before"] is None
    assert api.call("GET", "/merchant-signings", "promoter").json()["items"] == []  # not the promoter's
    problem(api.call("POST", f"/merchants/{merchant}/approve", "bm"), 403)
    approved = api.call("POST", f"/merchants/{merchant}/approve", "admin")
    assert approved.status_code == 200, approved.text
    invitation = approved.json()["invitation"]
    assert invitation["role"] == "merchant" and invitation["party_id"] == merchant
    problem(api.call("POST", f"/merchants/{merchant}/approve", "admin"), 409)
    info = api.client.get(f"/api/v1/invitations/{invitation['token']}")
    assert info.status_code == 200 and info.json()["party_name"] == "Noodle Bar"
    problem(accept(api, invitation["token"], "noodle", "short"), 422)  # nothing spent
    headers = bearer(accept(api, invitation["token"], "noodle"))
    problem(accept(api, invitation["token"], "noodle2"), 404)  # single use
    problem(api.client.get(f"/api/v1/invitations/{invitation['token']}"), 404)
    sale = api.client.post("/api/v1/orders", json=order, headers={**headers, "Idempotency-Key": "p-2"})
    assert sale.status_code == 201, sale.text
    assert {a["part"]: a["party_id"] for a in sale.json()["allocations"]}["bm_commission"] == api.city.bm
    signed_login = api.client.post("/api/v1/auth/token",
                                   data={"username": "noodle", "password": "a-new-password-1"})
    assert signed_login.status_code == 200
    approved_row = api.call("GET", "/merchant-signings?status=approved", "bm").json()["items"]
    assert [s["merchant_id"] for s in approved_row] == [merchant]


def test_rejection_expiry_and_promoter_region(api: Api) -> None:
    other = api.call("POST", "/regions", json={"name": "Elsewhere"}).json()["region_id"]
    problem(sign(api, "promoter", bm_rate=None, region_id=other), 403)
    problem(sign(api, "promoter"), 403)  # a promoter names no BM
    mine = sign(api, "promoter", bm_rate=None)
    assert mine.status_code == 201, mine.text
    merchant = mine.json()["merchant_id"]
    assert mine.json()["promoter_id"] == api.city.promoter
    problem(api.call("POST", f"/merchants/{merchant}/reject", "admin", json={"reason": " "}), 422)
    rejected = api.call("POST", f"/merchants/{merchant}/reject", "admin", json={"reason": "no licence"})
    assert rejected.status_code == 200
    problem(api.call("POST", f"/merchants/{merchant}/approve", "admin"), 409)
    seen = api.call("GET", "/merchant-signings", "promoter").json()["items"]
    assert [(s["status"], s["reason"]) for s in seen] == [("rejected", "no licence")]
    # an expired invitation is refused with the same answer as an unknown one
    promoter = api.call("POST", "/promoters", json={"name": "New P", "partner_id": api.city.partner})
    issued = api.call("POST", "/invitations", "admin",
                      json={"party_id": promoter.json()["party_id"], "hours": 1}).json()
    api.city.platform.run(lambda uow: uow.conn.execute(update(t.invitations).values(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))))
    expired = problem(accept(api, issued["token"], "late"), 404)
    unknown = problem(accept(api, "x" * 32, "late"), 404)
    assert expired["detail"] == unknown["detail"]
    problem(api.call("POST", "/invitations", "admin", json={"party_id": api.city.consumer}), 409)
    problem(api.call("POST", "/invitations", "admin", json={"party_id": "7"}), 422)  # strict ints


def test_partner_team_and_term_end(api: Api) -> None:
    team = api.call("POST", f"/partners/{api.city.partner}/team", "partner", json={"name": "Rosa"})
    assert team.status_code == 201, team.text
    member = team.json()
    bearer(accept(api, member["invitation"]["token"], "rosa"))
    report = api.call("GET", f"/partners/{api.city.partner}/report", "partner").json()
    assert member["promoter_id"] in [m["promoter_id"] for m in report["team"]]
    problem(api.call("POST", f"/partners/{api.city.partner}/team", "bm", json={"name": "X"}), 403)
    problem(api.call("POST", "/invitations", "partner", json={"party_id": api.city.merchant}), 403)
    problem(api.call("POST", f"/partners/{api.city.partner}/end-term", "partner"), 403)
    ended = api.call("POST", f"/partners/{api.city.partner}/end-term", "admin")
    assert ended.status_code == 200 and ended.json()["term_end"] == 1
    problem(api.call("POST", f"/partners/{api.city.partner}/end-term", "admin"), 409)
    sale = api.call("POST", "/orders", "merchant", key="t-1", json={
        "consumer_id": api.city.consumer, "merchant_id": api.city.merchant, "amount_fen": 100_000})
    parts = {a["part"]: a for a in sale.json()["allocations"]}
    assert parts["partner_dividend"]["vacant"] and parts["partner_dividend"]["party_id"] is None
    assert sale.json()["pool_fen"] == 9_000 + 3_000  # the worked example's pool plus the partner's share
    report = api.call("GET", f"/partners/{api.city.partner}/report", "partner").json()
    assert report["active"] is False and report["term_end"] == 1 and report["dividends_total_fen"] == 0
    problem(sign(api, "promoter", bm_rate=None), 403)  # the team signs no more
    region = api.call("POST", "/regions", json={"name": "Ningbo"}).json()["region_id"]
    new = api.call("POST", "/partners", json={"name": "P2", "region_id": region,
                                              "investment_fen": 1_000, "term_periods": 24})
    assert new.status_code == 201, new.text
    listed = api.call("GET", "/partners?q=Ningbo").json()
    assert [(p["partner_id"], p["term_periods"]) for p in listed["items"]] == [(new.json()["party_id"], 24)]


def test_store_exchange_quote_replay_and_profit(api: Api) -> None:
    city = api.city
    api.call("POST", "/orders", "merchant", key="s-1", json={
        "consumer_id": city.consumer, "merchant_id": city.merchant, "amount_fen": 100_000})
    problem(api.call("POST", "/share-programmes", "consumer",
                     json={"unit_price_cpts": 1_000, "units_offered": 10, "profit_share": "0.5"}), 403)
    opened = api.call("POST", "/share-programmes", "merchant",
                      json={"unit_price_cpts": 1_000, "units_offered": 10, "profit_share": "0.5"})
    assert opened.status_code == 201, opened.text
    prog = opened.json()["programme_id"]
    quote = api.call("GET", f"/share-programmes/{prog}/quote?units=3", "consumer").json()
    assert quote["cost_cpts"] == 3_000 and quote["available_cpts"] == 20_000
    assert quote["cap_forfeited_fen"] == 15_000 and quote["feasible"]  # 30 points x 5
    before = api.call("GET", f"/wallets/{city.consumer}", "consumer").json()
    path = f"/share-programmes/{prog}/exchanges"
    first = api.call("POST", path, "consumer", key="x-1", json={"units": 3})
    assert first.status_code == 201, first.text
    assert first.json()["cap_forfeited_fen"] == 15_000
    again = api.call("POST", path, "consumer", key="x-1", json={"units": 3})
    assert again.status_code == 200 and again.json()["replayed"] is True
    problem(api.call("POST", path, "consumer", key="x-1", json={"units": 4}), 409)
    problem(api.call("POST", path, "consumer", key="x-2", json={"units": "1"}), 422)
    problem(api.call("POST", path, "consumer", json={"units": 1}), 422)  # no key
    problem(api.call("POST", path, "consumer", key="x-3", json={"units": 100}), 422)
    after = api.call("GET", f"/wallets/{city.consumer}", "consumer").json()
    assert before["points_cpts"] - after["points_cpts"] == 3_000 and after["units_cpts"] == 3_000
    profits = f"/share-programmes/{prog}/profits"
    refused = api.call("POST", profits, "merchant", key="d-0", json={"profit_fen": 10_000})
    assert "available cash" in problem(refused, 422)["detail"]
    # the merchant's settlement is held this period: the dividend waits for the close
    assert api.call("POST", "/periods/close", key="close-before-profit").status_code == 200
    problem(api.call("POST", profits, "home", key="d-1", json={"profit_fen": 10_000}), 404)
    declared = api.call("POST", profits, "merchant", key="d-1", json={"profit_fen": 10_000})
    assert declared.status_code == 201, declared.text
    assert declared.json()["paid_fen"] == 5_000  # half of the profit, one holder
    assert api.call("POST", profits, "merchant", key="d-1", json={"profit_fen": 10_000}).status_code == 200
    problem(api.call("POST", profits, "merchant", key="d-2", json={"profit_fen": 10_000}), 409)
    wallet = api.call("GET", f"/wallets/{city.consumer}", "consumer").json()
    assert wallet["vouchers_fen"] - after["vouchers_fen"] == 5_000
    listed = api.call("GET", "/share-programmes", "consumer").json()["items"]
    assert [(p["programme_id"], p["units_sold"]) for p in listed] == [(prog, 3)]
    assert api.call("GET", "/ledger/trial-balance").json()["balanced"] is True


def test_directory_and_password_change(api: Api) -> None:
    found = api.call("GET", "/parties?q=Consumer&kind=consumer&limit=1").json()
    assert len(found["items"]) == 1 and found["next_before"] == found["items"][0]["party_id"]
    after = f"&before={found['next_before']}"
    second = api.call("GET", "/parties?q=Consumer&kind=consumer&limit=1" + after).json()
    assert second["next_before"] is None
    assert {found["items"][0]["party_id"], second["items"][0]["party_id"]} == {
        api.city.consumer, api.city.referrer}
    by_id = api.call("GET", f"/parties?q={api.city.merchant}").json()["items"]
    assert [p["party_id"] for p in by_id] == [api.city.merchant] and by_id[0]["username"] == "mia"
    problem(api.call("GET", "/parties", "merchant"), 403)
    path = "/auth/password"
    problem(api.call("POST", path, "consumer", json={"current_password": "wrong-one",
                                                     "new_password": "another-pass-1"}), 401)
    changed = api.call("POST", path, "consumer", json={"current_password": PASSWORD,
                                                       "new_password": "another-pass-1"})
    assert changed.status_code == 204, changed.text
    old = api.client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    bearer(api.client.post("/api/v1/auth/token", data={"username": "alice",
                                                       "password": "another-pass-1"}))


def test_cashier_sales_with_member_and_pay_codes(api: Api) -> None:
    city = api.city
    path = f"/merchants/{city.merchant}/sales"
    cash = api.call("POST", path, "merchant", key="c-1",
                    json={"amount_fen": 100_000, "consumer_code": str(city.consumer)})
    assert cash.status_code == 201, cash.text
    assert cash.json()["voucher_fen"] == 0 and cash.json()["consumer_id"] == city.consumer
    problem(api.call("POST", path, "home", key="c-2",
                     json={"amount_fen": 100, "consumer_code": str(city.consumer)}), 403)
    problem(api.call("POST", path, "merchant", key="c-3",
                     json={"amount_fen": "100", "consumer_code": str(city.consumer)}), 422)
    for n in (1, 2):
        api.call("POST", "/periods/close", key=f"close-{n}")
    vouchers = api.call("GET", f"/wallets/{city.consumer}", "consumer").json()["vouchers_fen"]
    assert vouchers > 0
    issued = api.call("POST", f"/consumers/{city.consumer}/pay-codes", "consumer",
                      json={"max_voucher_fen": vouchers})
    assert issued.status_code == 201, issued.text
    code = f"{city.consumer}-{issued.json()['pay_code']}"
    sale = {"amount_fen": 5_000, "consumer_code": code}
    paid = api.call("POST", path, "merchant", key="c-4", json=sale)
    assert paid.status_code == 201, paid.text
    assert paid.json()["voucher_fen"] == min(vouchers, 5_000)  # 100% of the order at an opted-in merchant
    again = api.call("POST", path, "merchant", key="c-4", json=sale)
    assert again.status_code == 200 and again.json()["order_id"] == paid.json()["order_id"]
    refused = problem(api.call("POST", path, "merchant", key="c-5", json=sale), 403)
    assert "pay code" in refused["detail"]
    left = api.call("GET", f"/wallets/{city.consumer}", "consumer").json()["vouchers_fen"]
    assert vouchers - left == paid.json()["voucher_fen"]
