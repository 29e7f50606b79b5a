"""Fixtures of the HTTP tests: an app over a platform with the worked example's city and logins."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from gongsheng.entrypoints.api.app import create_app
from gongsheng.entrypoints.api.auth import issue_token
from gongsheng.services import accounts
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings

with warnings.catch_warnings():  # starlette asks for httpx2; the project pins httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct-horse-battery"


@dataclass
class Api:
    """A client on the app, the city behind it, and a bearer header per role."""

    client: TestClient
    city: Any  # tests/conftest.py's City
    headers: dict[str, dict[str, str]]

    def as_(self, who: str, key: str | None = None) -> dict[str, str]:
        out = dict(self.headers[who])
        if key is not None:
            out["Idempotency-Key"] = key
        return out

    def call(self, method: str, path: str, who: str | None = "admin", *, key: str | None = None,
             **kwargs: Any) -> Any:
        headers = self.as_(who, key) if who else ({"Idempotency-Key": key} if key else {})
        headers.update(kwargs.pop("headers", {}))
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)


LOGINS = [("admin", "admin"), ("alice", "consumer"), ("bob", "consumer"), ("mia", "merchant"),
          ("hank", "merchant"), ("pat", "partner"), ("quinn", "promoter"), ("kim", "bm")]
PASSWORDS = {name: PASSWORD if name == "alice" else f"{PASSWORD}-{i}"
             for i, (name, _) in enumerate(LOGINS)}
"""Each login's own password (alice's is :data:`PASSWORD`)."""


def make_api(city: Any, settings: Settings | None = None) -> Iterator[Api]:
    platform: Platform = city.platform
    parties = {"alice": city.consumer, "bob": city.referrer, "mia": city.merchant, "hank": city.home,
               "pat": city.partner, "quinn": city.promoter, "kim": city.bm}
    platform.run(accounts.create_demo_accounts,
                 [(u, r, parties.get(u), PASSWORDS[u]) for u, r in LOGINS])
    names = {"admin": "admin", "consumer": "alice", "referrer": "bob", "merchant": "mia",
             "home": "hank", "partner": "pat", "promoter": "quinn", "bm": "kim"}
    app = create_app(platform, settings or Settings(secret_key=SECRET))
    by_user = {u: platform.read(accounts.authenticate, u, PASSWORDS[u]) for u, _ in LOGINS}
    headers = {who: bearer(by_user[u], app) for who, u in names.items()}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, city, headers)


def bearer(account: accounts.Account, app: Any, minutes: int = 30) -> dict[str, str]:
    """An ``Authorization`` header for ``account`` on ``app``'s database."""
    return {"Authorization": "Bearer " + issue_token(account, app.state.token_key, minutes)}


@pytest.fixture
def api(city: Any) -> Iterator[Api]:
    """The API over the worked example's city (on each dialect ``db_url`` is parametrised over;
    a module or test may narrow it with ``pytest.mark.parametrize("dialect", ["sqlite"])``)."""
    yield from make_api(city)
