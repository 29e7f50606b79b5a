"""Lists paged by key: the orders (``before``) and the trial balance (``after``)."""

from __future__ import annotations

import pytest

from gongsheng.services import directory

from .conftest import Api


def _orders(api: Api, n: int) -> list[int]:
    ids = []
    for i in range(n):
        made = api.call("POST", "/orders", "merchant", key=f"keyed-{i}", json={
            "consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
            "amount_fen": 1_000 + i, "voucher_fen": 0})
        assert made.status_code == 201, made.text
        ids.append(made.json()["order_id"])
    return ids


def test_orders_paged_by_key_are_every_order_once_newest_first(api: Api) -> None:
    placed = _orders(api, 5)
    for who in ("admin", "merchant", "consumer"):
        seen, before = [], None
        while True:
            page = api.call("GET", "/orders?limit=2" + (f"&before={before}" if before else ""), who)
            assert page.status_code == 200, page.text
            seen += [o["order_id"] for o in page.json()["items"]]
            before = page.json()["next_before"]
            if before is None:
                break
        assert seen == sorted(placed, reverse=True), who
    assert api.call("GET", "/orders?before=0").status_code == 422


def test_trial_balance_pages_cover_every_account_and_keep_the_totals(api: Api) -> None:
    _orders(api, 2)
    whole = api.call("GET", "/ledger/trial-balance?limit=5000").json()
    assert whole["next_after"] is None and whole["balanced"] is True
    accounts, after = [], None
    while True:
        page = api.call("GET", "/ledger/trial-balance?limit=3" + (f"&after={after}" if after else ""))
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["totals"] == whole["totals"] and body["by_kind"] == whole["by_kind"]
        accounts += body["accounts"]
        after = body["next_after"]
        if after is None:
            break
    assert accounts == whole["accounts"]
    by_kind: dict[str, int] = {}
    for a in whole["accounts"]:
        by_kind[a["kind"]] = by_kind.get(a["kind"], 0) + a["balance"]
    assert whole["by_kind"] == {k: v for k, v in sorted(by_kind.items()) if v}
    assert api.call("GET", "/ledger/trial-balance?limit=2", "consumer").status_code == 403


def test_party_list_total_is_counted_up_to_the_cap(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    everyone = api.call("GET", "/parties?limit=200").json()
    assert everyone["total"] == len(everyone["items"]) > 3
    monkeypatch.setattr(directory, "COUNT_CAP", 3)
    capped = api.call("GET", "/parties?limit=2").json()
    assert capped["total"] is None and capped["next_offset"] == 2
    ids, offset = [], 0
    while offset is not None:
        body = api.call("GET", f"/parties?limit=2&offset={offset}").json()
        ids += [p["party_id"] for p in body["items"]]
        offset = body["next_offset"]
    assert ids == [p["party_id"] for p in everyone["items"]]
