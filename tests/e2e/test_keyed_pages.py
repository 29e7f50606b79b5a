"""Lists paged by key: every list of the API (``before``), the trial balance (``after``) and
the pages' lists (older and newer links).

Each list is walked a page at a time while new items are made between the page reads: the walk
serves every item that existed when it began exactly once, newest first, and none made during it.
``offset`` beyond the first page is refused with a 422 that says how to page instead.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from gongsheng.entrypoints.web import forms

from .conftest import Api
from .test_api import problem
from .test_party_pages import sign_in

_made = itertools.count()


def _order(api: Api) -> None:
    n = next(_made)
    made = api.call("POST", "/orders", "merchant", key=f"keyed-{n}", json={
        "consumer_id": api.city.consumer, "merchant_id": api.city.merchant,
        "amount_fen": 1_000 + n, "voucher_fen": 0})
    assert made.status_code == 201, made.text


def _consumer(api: Api) -> None:
    made = api.call("POST", "/consumers", json={"name": f"Consumer keyed {next(_made)}"})
    assert made.status_code == 201, made.text


def _partner(api: Api) -> None:
    region = api.call("POST", "/regions", json={"name": f"Region {next(_made)}"}).json()["region_id"]
    made = api.call("POST", "/partners", json={"name": f"Partner keyed {next(_made)}",
                                               "region_id": region, "investment_fen": 1_000})
    assert made.status_code == 201, made.text


def _signing(api: Api) -> None:
    made = api.call("POST", "/merchant-signings", "bm", json={
        "name": f"Noodle Bar {next(_made)}", "category": "catering", "channel": "alliance",
        "region_id": api.city.region, "concession_rate": "0.15", "bm_rate": "0.02",
        "accepts_vouchers": True})
    assert made.status_code == 201, made.text


def _case(api: Api) -> None:
    made = api.call("POST", "/cases", key=f"case-{next(_made)}", json={
        "summary": "looked at by hand", "party_ids": [api.city.consumer]})
    assert made.status_code == 201, made.text


def _programme(api: Api) -> None:
    made = api.call("POST", "/share-programmes", "merchant", json={
        "unit_price_cpts": 1_000, "units_offered": 10, "profit_share": "0.5"})
    assert made.status_code == 201, made.text


LISTS: dict[str, tuple[str, str, str, Callable[[Api], None]]] = {
    # name: (path, who, the items' key, how to make one more)
    "orders": ("/orders", "admin", "order_id", _order),
    "merchant's orders": ("/orders", "merchant", "order_id", _order),
    "consumer's orders": ("/orders", "consumer", "order_id", _order),
    "parties": ("/parties", "admin", "party_id", _consumer),
    "consumers": ("/parties?kind=consumer", "admin", "party_id", _consumer),
    "parties found": ("/parties?q=Consumer", "admin", "party_id", _consumer),
    "partners": ("/partners", "admin", "partner_id", _partner),
    "signings": ("/merchant-signings", "admin", "merchant_id", _signing),
    "a BM's signings": ("/merchant-signings?status=pending", "bm", "merchant_id", _signing),
    "cases": ("/cases", "admin", "id", _case),
    "open cases": ("/cases?status=open", "admin", "id", _case),
    "share programmes": ("/share-programmes", "consumer", "programme_id", _programme),
}


def _with(path: str, **query: object) -> str:
    extra = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    return path + ("&" if "?" in path else "?") + extra if extra else path


def _page(api: Api, path: str, who: str, **query: object) -> Any:
    got = api.call("GET", _with(path, **query), who)
    assert got.status_code == 200, got.text
    assert set(got.json()) == {"items", "limit", "next_before"}
    return got.json()


@pytest.mark.parametrize("name", list(LISTS))
def test_a_walk_by_key_serves_every_item_once_while_items_are_added(api: Api, name: str) -> None:
    path, who, key, make = LISTS[name]
    for _ in range(5):
        make(api)
    refused = problem(api.call("GET", _with(path, offset=2), who), 422)
    assert "paged by key" in refused["detail"] and "before" in refused["detail"]
    assert _page(api, path, who, offset=0)["items"]  # the first page, as offset clients ask for it
    existing = [i[key] for i in _page(api, path, who, limit=200)["items"]]
    assert len(existing) >= 5 and existing == sorted(existing, reverse=True)
    walked: list[int] = []
    before = None
    while True:
        body = _page(api, path, who, limit=2, before=before)
        ids = [i[key] for i in body["items"]]
        assert len(ids) <= 2 and ids == sorted(ids, reverse=True)
        walked += ids
        before = body["next_before"]
        if before is None:
            break
        assert before == ids[-1] and len(ids) == 2
        make(api)  # newer than the walk: not part of it
    assert walked == existing
    assert len(_page(api, path, who, limit=200)["items"]) > len(existing)


def test_a_search_matches_a_name_fragment_a_name_start_or_an_id(api: Api) -> None:
    def found(q: str) -> set[int]:
        return {p["party_id"] for p in _page(api, "/parties", "admin", q=q, limit=200)["items"]}

    city = api.city
    assert found("onsumer") == found("Consumer") == {city.consumer, city.referrer}
    assert found("Co") == {city.consumer, city.referrer} and found("on") == set()  # short: a start
    assert found("sumer A") == {city.consumer}
    assert found(str(city.merchant)) == {city.merchant}
    assert found("100%_") == set() and found(str(2**64)) == set()  # no wildcard; beyond every id
    assert {p["partner_id"] for p in _page(api, "/partners", "admin", q="Hangzhou")["items"]} == {
        city.partner}  # a partner by its region's name


def test_orders_before_must_be_a_key(api: Api) -> None:
    assert api.call("GET", "/orders?before=0").status_code == 422


def test_trial_balance_pages_cover_every_account_and_keep_the_totals(api: Api) -> None:
    _order(api)
    _order(api)
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


WEB_LISTS: dict[str, tuple[str, str, str, str, Callable[[Api], None]]] = {
    # name: (page, who, its rows' attribute, the same list in the API, how to make one more)
    "orders": ("/merchant/{merchant}/orders", "mia", "data-order", "/orders", _order),
    "parties": ("/admin/parties?kind=consumer", "admin", "data-party", "/parties?kind=consumer",
                _consumer),
    "partners": ("/admin/partners", "admin", "data-partner", "/partners", _partner),
    "signings": ("/admin/signings?status=pending", "admin", "data-merchant",
                 "/merchant-signings?status=pending", _signing),
    "a BM's signings": ("/sign", "kim", "data-merchant", "/merchant-signings", _signing),
    "cases": ("/admin/cases", "admin", "data-case", "/cases", _case),
}
_WHO = {"mia": "merchant", "kim": "bm", "admin": "admin"}


def _link(text: str, which: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="pager-{which}"', text)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize("name", list(WEB_LISTS))
def test_a_page_walks_older_and_back_newer_by_key(api: Api, name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forms, "PAGE", 2)
    path, who, attribute, listed, make = WEB_LISTS[name]
    path = path.format(merchant=api.city.merchant)
    key = LISTS[{"/orders": "merchant's orders", "/parties?kind=consumer": "consumers",
                 "/partners": "partners", "/merchant-signings?status=pending": "signings",
                 "/merchant-signings": "a BM's signings", "/cases": "cases"}[listed]][2]

    def everything() -> list[int]:
        return [i[key] for i in _page(api, listed, _WHO[who], limit=200)["items"]]

    for _ in range(5):
        make(api)
    existing = everything()
    sign_in(api, who)

    def read(url: str) -> tuple[list[int], str]:
        got = api.client.get(url)
        assert got.status_code == 200, (url, got.text[-300:])
        return [int(i) for i in re.findall(rf'<tr {attribute}="([0-9]+)"', got.text)], got.text

    ids, text = read(path)
    assert _link(text, "newer") is None and _link(text, "newest") is None
    walked, pages = list(ids), 1
    while (older := _link(text, "older")) is not None:
        make(api)  # newer than the walk: not part of it
        ids, text = read(older)
        assert len(ids) <= 2 and _link(text, "newest") == path
        walked += ids
        pages += 1
    assert walked == existing and pages >= 3
    now = everything()
    back = list(ids)
    while (newer := _link(text, "newer")) is not None:
        ids, text = read(newer)
        back = ids + back
    assert back == now  # every row there now, once, up to the newest
    assert "较早" in api.client.get(path + ("&" if "?" in path else "?") + "lang=zh").text
    english = api.client.get(path + ("&" if "?" in path else "?") + "lang=en").text
    assert "Older" in english and "较早" not in english
