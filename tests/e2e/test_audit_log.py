"""The audit trail over HTTP: every operator action leaves one record naming its actor and its
request; ``GET /api/v1/audit-log`` filters and pages it (admin only). SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from gongsheng.adapters.policy_file import default_policy_text

from .conftest import PASSWORD, Api
from .test_api import order, problem
from .test_parties_api import TERMS

HOOK = "http://127.0.0.1:9/hooks"


def _call(api: Api, rid: str, method: str, path: str, who: str | None = "admin",
          **kwargs: Any) -> Any:
    """A call carrying the request id ``rid``; asserts it succeeded."""
    answer = api.call(method, path, who, headers={"X-Request-ID": rid}, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer


def _policy_text() -> str:
    return default_policy_text().replace('name = "default"', 'name = "audited"', 1)


def _webhook(api: Api) -> int:
    api.client.app.state.settings = api.client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhooks_allow_private": True})
    made = api.call("POST", "/webhooks", json={"url": HOOK, "events": ["order.placed"]})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _signed(api: Api) -> int:
    """A merchant the BM signed (pending the operator's approval)."""
    signed = api.call("POST", "/merchant-signings", "bm", json={**TERMS, "region_id": api.city.region})
    assert signed.status_code == 201, signed.text
    return int(signed.json()["merchant_id"])


# each case: (action, who acts, what it does with the request id -> the target it names)
Case = Callable[[Api, str], str]


def _upload(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/policy/versions", json={"toml": _policy_text()})
    return f"policy:{made.json()['version_id']}"


def _activate(api: Api, rid: str) -> str:
    made = api.call("POST", "/policy/versions", json={"toml": _policy_text()})
    _call(api, rid, "POST", "/periods/close", key="close-a")
    return f"policy:{made.json()['version_id']}"


def _close(api: Api, rid: str) -> str:
    closed = _call(api, rid, "POST", "/periods/close", key="close-1")
    return f"period:{closed.json()['period']}"


def _register(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/business-managers", json={"name": "BM New"})
    return f"party:{made.json()['party_id']}"


def _sign_up(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/consumers", None, json={
        "name": "Walk-in", "login": {"username": "walkin", "password": PASSWORD + "-w"}})
    return f"party:{made.json()['party_id']}"


def _promoter_signs(api: Api, rid: str) -> str:
    signed = _call(api, rid, "POST", "/merchant-signings", "promoter",
                   json={**TERMS, "bm_id": None, "bm_rate": None, "region_id": api.city.region})
    return f"party:{signed.json()['merchant_id']}"


def _region(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/regions", json={"name": "Ningbo"})
    return f"region:{made.json()['region_id']}"


def _approve(api: Api, rid: str) -> str:
    merchant = _signed(api)
    _call(api, rid, "POST", f"/merchants/{merchant}/approve")
    return f"party:{merchant}"


def _reject(api: Api, rid: str) -> str:
    merchant = _signed(api)
    _call(api, rid, "POST", f"/merchants/{merchant}/reject", json={"reason": "no licence"})
    return f"party:{merchant}"


def _invite(api: Api, rid: str) -> str:
    made = api.call("POST", "/business-managers", json={"name": "BM Invited"})
    party = made.json()["party_id"]
    _call(api, rid, "POST", "/invitations", json={"party_id": party})
    return f"party:{party}"


def _payout(api: Api, rid: str) -> str:
    assert order(api, 1_000_000).status_code == 201  # partner dividend 300 yuan: above threshold
    assert api.call("POST", "/periods/close", key="close-before-payout").status_code == 200
    _call(api, rid, "POST", "/payouts", "partner", key="w-1", json={"amount_fen": 10_000})
    return f"party:{api.city.partner}"


def _end_term(api: Api, rid: str) -> str:
    _call(api, rid, "POST", f"/partners/{api.city.partner}/end-term")
    return f"party:{api.city.partner}"


def _webhook_created(api: Api, rid: str) -> str:
    api.client.app.state.settings = api.client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhooks_allow_private": True})
    made = _call(api, rid, "POST", "/webhooks", json={"url": HOOK, "events": ["order.placed"]})
    return f"webhook:{made.json()['id']}"


def _webhook_deleted(api: Api, rid: str) -> str:
    sub = _webhook(api)
    _call(api, rid, "DELETE", f"/webhooks/{sub}")
    return f"webhook:{sub}"


def _webhook_rotated(api: Api, rid: str) -> str:
    sub = _webhook(api)
    _call(api, rid, "POST", f"/webhooks/{sub}/secret")
    return f"webhook:{sub}"


def _disable(api: Api, rid: str) -> str:
    _call(api, rid, "POST", "/accounts/bob/disable")
    return "account:bob"


def _enable(api: Api, rid: str) -> str:
    assert api.call("POST", "/accounts/bob/disable").status_code == 200
    _call(api, rid, "POST", "/accounts/bob/enable")
    return "account:bob"


def _password(api: Api, rid: str) -> str:
    _call(api, rid, "POST", "/auth/password", "consumer", json={
        "current_password": PASSWORD, "new_password": PASSWORD + "-new"})
    return "account:alice"


def _key_made(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/api-keys", json={"label": "hooks", "scopes": ["webhooks:manage"]})
    return f"apikey:{made.json()['id']}"


def _key_revoked(api: Api, rid: str) -> str:
    made = api.call("POST", "/api-keys", json={"label": "old", "scopes": ["events:read"]}).json()
    _call(api, rid, "DELETE", f"/api-keys/{made['id']}")
    return f"apikey:{made['id']}"


def _new_case(api: Api) -> int:
    made = api.call("POST", "/cases", key="case-" + secrets.token_hex(4),
                    json={"summary": "checking a merchant", "party_ids": [api.city.merchant]})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _case_opened(api: Api, rid: str) -> str:
    made = _call(api, rid, "POST", "/cases", key="case-audited",
                 json={"summary": "checking a merchant", "party_ids": [api.city.merchant]})
    return f"case:{made.json()['id']}"


def _case_noted(api: Api, rid: str) -> str:
    case = _new_case(api)
    _call(api, rid, "POST", f"/cases/{case}/notes", key="note-1", json={"body": "looked"})
    return f"case:{case}"


def _case_investigated(api: Api, rid: str) -> str:
    case = _new_case(api)
    _call(api, rid, "POST", f"/cases/{case}/transitions", json={"status": "investigating"})
    return f"case:{case}"


def _case_dismissed(api: Api, rid: str) -> str:
    case = _new_case(api)
    _call(api, rid, "POST", f"/cases/{case}/transitions", json={"status": "dismissed"})
    return f"case:{case}"


def _identifiers(api: Api, rid: str) -> str:
    _call(api, rid, "POST", f"/parties/{api.city.merchant}/identifiers",
          json={"payment_refs": ["card-" + secrets.token_hex(4)]})
    return f"party:{api.city.merchant}"


def _frozen(api: Api, rid: str) -> str:
    _call(api, rid, "POST", f"/parties/{api.city.merchant}/freeze", json={"reason": "review"})
    return f"party:{api.city.merchant}"


def _unfrozen(api: Api, rid: str) -> str:
    api.call("POST", f"/parties/{api.city.merchant}/freeze", json={"reason": "review"})
    _call(api, rid, "POST", f"/parties/{api.city.merchant}/unfreeze")
    return f"party:{api.city.merchant}"


def _refunded(api: Api, rid: str) -> str:
    placed = order(api, 10_000).json()
    _call(api, rid, "POST", f"/orders/{placed['order_id']}/refunds", key="r-op",
          json={"amount_fen": 1_000})
    return f"order:{placed['order_id']}"


CASES: list[tuple[str, str, Case]] = [
    ("policy.uploaded", "admin", _upload),
    ("policy.activated", "admin", _activate),
    ("period.closed", "admin", _close),
    ("party.registered", "admin", _register),
    ("party.registered", "anonymous", _sign_up),
    ("party.registered", "quinn", _promoter_signs),
    ("account.created", "anonymous", lambda api, rid: (_sign_up(api, rid), "account:walkin")[1]),
    ("region.created", "admin", _region),
    ("approval.decided", "admin", _approve),
    ("approval.decided", "admin", _reject),
    ("invitation.issued", "admin", _invite),
    ("payout.made", "pat", _payout),
    ("term.ended", "admin", _end_term),
    ("webhook.created", "admin", _webhook_created),
    ("webhook.deleted", "admin", _webhook_deleted),
    ("webhook.secret_rotated", "admin", _webhook_rotated),
    ("account.disabled", "admin", _disable),
    ("account.enabled", "admin", _enable),
    ("account.password_changed", "alice", _password),
    ("apikey.created", "admin", _key_made),
    ("apikey.revoked", "admin", _key_revoked),
    ("order.refunded", "admin", _refunded),
    ("party.frozen", "admin", _frozen),
    ("party.unfrozen", "admin", _unfrozen),
    ("case.opened", "admin", _case_opened),
    ("case.noted", "admin", _case_noted),
    ("case.status_changed", "admin", _case_investigated),
    ("case.decided", "admin", _case_dismissed),
    ("party.identifiers_registered", "admin", _identifiers),
]


def _log(api: Api, who: str = "admin", **query: Any) -> Any:
    answer = api.call("GET", "/audit-log", who, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(("action", "actor", "act"), CASES,
                         ids=[f"{a}-{n.__name__.strip('_')}" for a, _, n in CASES])
def test_each_action_leaves_its_record_with_its_actor(api: Api, action: str, actor: str,
                                                      act: Case) -> None:
    rid = "req-" + secrets.token_hex(8)
    before = {r["id"] for r in _log(api, action=action, limit=200)["items"]}
    target = act(api, rid)
    mine = [r for r in _log(api, action=action, limit=200)["items"] if r["request_id"] == rid]
    assert len(mine) == 1, mine
    [record] = mine
    assert record["id"] not in before
    assert (record["actor"], record["action"], record["target"]) == (actor, action, target)
    assert record["at"].endswith("Z") and isinstance(record["changes"], dict)
    assert "whsec_" not in str(record["changes"]) and PASSWORD not in str(record["changes"])


def test_a_replayed_or_refused_action_records_nothing_more(api: Api) -> None:
    assert api.call("POST", "/periods/close", key="close-1").status_code == 200
    assert api.call("POST", "/periods/close", key="close-1").status_code == 200  # a replay
    assert len(_log(api, action="period.closed")["items"]) == 1
    assert api.call("POST", f"/partners/{api.city.partner}/end-term").status_code == 200
    problem(api.call("POST", f"/partners/{api.city.partner}/end-term"), 409)  # ended already
    assert len(_log(api, action="term.ended")["items"]) == 1
    regions = _log(api, action="region.created")["items"]  # the city's, by the system
    assert [r["actor"] for r in regions] == ["system"]
    problem(api.call("POST", "/regions", json={"name": "x", "parent_id": 10**6}), 404)
    assert _log(api, action="region.created")["items"] == regions


def test_forced_promise_and_the_close_figures_are_recorded(api: Api) -> None:
    assert order(api, 100_000).status_code == 201
    closed = api.call("POST", "/periods/close", key="c-1").json()
    [record] = _log(api, action="period.closed")["items"]
    assert record["changes"] == {"force_promise": False, "release_rate": closed["release_rate"],
                                 "nominal_rate": closed["nominal_rate"],
                                 "released_fen": closed["released_fen"],
                                 "unfunded_fen": closed["unfunded_fen"]}


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_filters_paging_and_errors(api: Api) -> None:
    for n in range(7):
        assert api.call("POST", "/regions", json={"name": f"R{n}"}).status_code == 201
    assert api.call("POST", "/accounts/bob/disable").status_code == 200
    every = _log(api, limit=200)["items"]
    ids = [r["id"] for r in every]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    walked, cursor, pages = [], None, 0
    while True:
        page = _log(api, limit=3, **({"after": cursor} if cursor else {}))
        walked += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == ids and pages == -(-len(ids) // 3)
    regions = _log(api, action="region.created", actor="admin")["items"]
    assert len(regions) == 7 and {r["actor"] for r in regions} == {"admin"}
    assert [r["target"] for r in _log(api, target="account:bob")["items"]] == ["account:bob"]
    assert _log(api, actor="nobody")["items"] == []
    assert len(_log(api, actor="admin", action="region.created", limit=2)["items"]) == 2
    first = every[-1]["at"]
    assert {r["id"] for r in _log(api, since=first, limit=200)["items"]} == set(ids)
    assert _log(api, until=first)["items"] == []
    assert _log(api, since="2000-01-01", until="2000-01-02")["items"] == []
    problem(api.call("GET", "/audit-log", "consumer"), 403)
    problem(api.call("GET", "/audit-log", None), 401)
    problem(api.call("GET", "/audit-log", params={"after": "12"}), 422)
    for bad in ("yesterday", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"):
        problem(api.call("GET", "/audit-log", params={"since": bad}), 422)
    problem(api.call("GET", "/audit-log", params={"since": "2026-02-01", "until": "2026-01-01"}),
            422)
    problem(api.call("GET", "/audit-log", params={"limit": 0}), 422)


def test_an_integration_key_acts_as_apikey_and_its_id(api: Api) -> None:
    made = api.call("POST", "/api-keys", json={"label": "hooks", "scopes": ["webhooks:manage"]})
    assert made.status_code == 201, made.text
    key = made.json()
    api.client.app.state.settings = api.client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhooks_allow_private": True})
    hooked = api.call("POST", "/webhooks", None, headers={
        "Authorization": f"Bearer {key['secret']}", "X-Request-ID": "req-key-1"},
        json={"url": HOOK, "events": ["order.placed"]})
    assert hooked.status_code == 201, hooked.text
    [record] = _log(api, action="webhook.created")["items"]
    assert (record["actor"], record["request_id"]) == (f"apikey:{key['id']}", "req-key-1")
