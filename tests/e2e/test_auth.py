"""Signing in and out over HTTP: tokens bound to their database, sessions that end at once,
rate limits on sign-in and sign-up, password work kept off the other requests, account rules.

Tests that involve a second database or a second app run on SQLite and PostgreSQL; the rest on
SQLite.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gongsheng.entrypoints.api.app import create_app
from gongsheng.services import passwords
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings

from .conftest import PASSWORD, PASSWORDS, SECRET, Api, TestClient, make_api
from .test_api import problem

sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])
TOKEN = "/api/v1/auth/token"


def sign_in(client: TestClient, username: str, password: str) -> Any:
    return client.post(TOKEN, data={"username": username, "password": password})


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["access_token"]}


@pytest.fixture
def limited(city: Any) -> Callable[..., Iterator[Api]]:
    """``limited(**settings)``: the API over the city with the given rate limits."""
    def make(**limits: str) -> Iterator[Api]:
        return make_api(city, Settings(secret_key=SECRET, **limits))
    return make


# --- item: tokens are bound to their database ------------------------------------------------

def test_a_token_of_one_database_is_refused_by_another(api: Api, dialect: str,
                                                       new_database: Callable[[str], str],
                                                       open_platform: Callable[..., Platform]) -> None:
    other = create_app(open_platform(new_database(dialect)), Settings(secret_key=SECRET))
    admin = api.headers["admin"]
    assert api.client.get("/api/v1/me", headers=admin).status_code == 200
    with TestClient(other, raise_server_exceptions=False) as client:
        problem(client.get("/api/v1/me", headers=admin), 401)
        problem(client.get("/api/v1/reports/kpis", headers=admin), 401)


# --- item: sign-out, password change and disabling end sessions at once ----------------------

def test_sign_out_ends_the_token_in_every_worker(api: Api, open_platform: Callable[..., Platform],
                                                 db_url: str) -> None:
    # a second app on the same database stands for a second worker process
    second = create_app(open_platform(db_url), Settings(secret_key=SECRET))
    token = bearer(sign_in(api.client, "alice", PASSWORD))
    wallet = f"/api/v1/wallets/{api.city.consumer}"
    with TestClient(second, raise_server_exceptions=False) as other:
        assert other.get(wallet, headers=token).status_code == 200
        assert api.client.post("/api/v1/auth/logout", headers=token).status_code == 204
        body = problem(api.client.get(wallet, headers=token), 401)
        assert "ended" in body["detail"]
        problem(other.get(wallet, headers=token), 401)
        problem(api.client.get(wallet, headers=api.headers["consumer"]), 401)  # every token of alice
    assert api.client.get(wallet, headers=bearer(sign_in(api.client, "alice", PASSWORD))).status_code == 200


@sqlite_only
def test_web_sign_out_ends_the_cookie_on_the_server(api: Api) -> None:
    client = api.client
    form = client.get("/login")
    form_token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert form_token is not None
    signed = client.post("/login", data={"username": "mia", "password": PASSWORDS["mia"],
                                         "form_token": form_token.group(1)}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    cookie = client.cookies.get("gs_session")
    assert cookie
    page = client.get(f"/merchant/{api.city.merchant}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    out = client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.set("gs_session", cookie)  # the old cookie, kept by whoever copied it
    again = client.get(f"/merchant/{api.city.merchant}", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")
    problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"}), 401)


@sqlite_only
def test_a_password_change_ends_every_token(api: Api) -> None:
    old = bearer(sign_in(api.client, "alice", PASSWORD))
    change = "/api/v1/auth/password"
    problem(api.client.post(change, headers=old, json={
        "current_password": "wrong-password!", "new_password": "a-brand-new-phrase"}), 401)
    problem(api.client.post(change, headers=old, json={
        "current_password": PASSWORD, "new_password": "password"}), 422)
    problem(api.client.post(change, json={
        "current_password": PASSWORD, "new_password": "a-brand-new-phrase"}), 401)
    assert api.client.post(change, headers=old, json={
        "current_password": PASSWORD, "new_password": "a-brand-new-phrase"}).status_code == 204
    problem(api.client.get("/api/v1/me", headers=old), 401)
    problem(sign_in(api.client, "alice", PASSWORD), 401)
    new = bearer(sign_in(api.client, "alice", "a-brand-new-phrase"))
    assert api.client.get("/api/v1/me", headers=new).json()["username"] == "alice"


@sqlite_only
def test_disabling_an_account_ends_its_tokens_and_sign_in(api: Api) -> None:
    alice = api.headers["consumer"]
    assert api.client.get("/api/v1/me", headers=alice).status_code == 200
    problem(api.call("POST", "/accounts/alice/disable", "merchant"), 403)
    problem(api.call("POST", "/accounts/nobody/disable"), 404)
    problem(api.call("POST", "/accounts/admin/disable"), 409)  # not yourself
    done = api.call("POST", "/accounts/alice/disable")
    assert done.status_code == 200 and done.json() == {
        "username": "alice", "role": "consumer", "party_id": api.city.consumer, "disabled": True}
    problem(api.client.get("/api/v1/me", headers=alice), 401)
    assert "disabled" in problem(sign_in(api.client, "alice", PASSWORD), 401)["detail"]
    assert api.call("POST", "/accounts/alice/enable").json()["disabled"] is False
    assert api.client.get("/api/v1/me", headers=alice).status_code == 401  # old tokens stay ended
    assert bearer(sign_in(api.client, "alice", PASSWORD))


# --- item: rate limits and password work -----------------------------------------------------

@sqlite_only
def test_sign_in_per_address_is_limited(limited: Callable[..., Iterator[Api]]) -> None:
    for api in limited(sign_in_limit_per_address="3/minute"):
        for _ in range(2):
            problem(sign_in(api.client, "nobody", "not-the-password"), 401)
        assert sign_in(api.client, "alice", PASSWORD).status_code == 200
        refused = problem(sign_in(api.client, "alice", PASSWORD), 429)  # even the right password
        assert "sign-in per address" in refused["detail"]
        assert 1 <= int(refused_header(api, "alice")) <= 60


def refused_header(api: Api, username: str) -> str:
    response = sign_in(api.client, username, PASSWORD)
    assert response.status_code == 429
    return str(response.headers["retry-after"])


@sqlite_only
def test_failed_sign_ins_per_username_are_limited(limited: Callable[..., Iterator[Api]]) -> None:
    for api in limited(sign_in_failures_per_username="3 per 15 minutes"):
        for _ in range(3):
            problem(sign_in(api.client, "admin", "not-the-password"), 401)
        body = problem(sign_in(api.client, "admin", PASSWORDS["admin"]), 429)
        assert "failed sign-ins per username" in body["detail"]
        problem(sign_in(api.client, "ADMIN", PASSWORDS["admin"]), 429)  # a variant counts the same
        assert sign_in(api.client, "alice", PASSWORD).status_code == 200  # others are not locked out


@sqlite_only
def test_anonymous_sign_ups_per_address_are_limited(limited: Callable[..., Iterator[Api]]) -> None:
    for api in limited(sign_up_limit_per_address="2/hour"):
        for name in ("dave", "erin"):
            assert api.call("POST", "/consumers", None, json={
                "name": name, "login": {"username": name, "password": PASSWORD}}).status_code == 201
        refused = api.call("POST", "/consumers", None, json={
            "name": "Finn", "login": {"username": "finn", "password": PASSWORD}})
        problem(refused, 429)
        assert int(refused.headers["retry-after"]) > 60
        assert api.call("POST", "/consumers", json={"name": "Gus"}).status_code == 201  # an admin's


@sqlite_only
def test_web_sign_in_is_limited_too(limited: Callable[..., Iterator[Api]]) -> None:
    for api in limited(sign_in_limit_per_address="1/minute"):
        form = api.client.get("/login")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token is not None
        data = {"username": "mia", "password": "not-the-password", "form_token": token.group(1)}
        assert api.client.post("/login", data=data).status_code == 401
        throttled = api.client.post("/login", data=data)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
        assert 'id="login-error"' in throttled.text


@sqlite_only
def test_password_work_is_bounded_and_other_requests_pass_it(api: Api,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent sign-ins take turns on the password slots; a wallet read does not wait for them."""
    running, most = [0], [0]
    lock = threading.Lock()
    real = passwords._hasher

    class SlowHasher:
        def verify(self, hashed: str, password: str) -> bool:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                time.sleep(0.25)
                return bool(real.verify(hashed, password))
            finally:
                with lock:
                    running[0] -= 1

    monkeypatch.setattr(passwords, "_hasher", SlowHasher())
    signs = 6
    finished: list[float] = []

    def attempt(_: int) -> int:
        status = sign_in(api.client, "nobody", "not-the-password").status_code
        finished.append(time.monotonic())
        return status

    with ThreadPoolExecutor(signs + 1) as pool:
        futures = [pool.submit(attempt, i) for i in range(signs)]
        time.sleep(0.1)
        wallet = api.call("GET", f"/wallets/{api.city.consumer}", "consumer")
        wallet_done = time.monotonic()
        statuses = [f.result() for f in futures]
    assert statuses == [401] * signs
    assert wallet.status_code == 200
    assert most[0] <= passwords.HASH_SLOTS
    assert wallet_done < max(finished)  # it did not queue behind the sign-ins


# --- item: names and passwords ---------------------------------------------------------------

@sqlite_only
@pytest.mark.parametrize(("username", "status"), [
    ("Admin", 409), ("ａdmin", 409), ("ALICE", 409), ("аdmin", 422), ("a\u200bdmin", 422),
])
def test_look_alike_and_invisible_names_cannot_sign_up(api: Api, username: str, status: int) -> None:
    problem(api.call("POST", "/consumers", None, json={
        "name": "Mallory", "login": {"username": username, "password": PASSWORD}}), status)


@sqlite_only
@pytest.mark.parametrize("password", [" " * 8, "password", "mallory123", "qwerty123456", "mallory-rules-ok"])
def test_weak_passwords_cannot_sign_up(api: Api, password: str) -> None:
    body = problem(api.call("POST", "/consumers", None, json={
        "name": "Mallory", "login": {"username": "mallory", "password": password}}), 422)
    assert "password" in body["detail"]
