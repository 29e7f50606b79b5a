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


def make_api(city: Any) -> Iterator[Api]:
    platform: Platform = city.platform
    logins = [("admin", "admin", None), ("alice", "consumer", city.consumer),
              ("bob", "consumer", city.referrer), ("mia", "merchant", city.merchant),
              ("hank", "merchant", city.home), ("pat", "partner", city.partner),
              ("quinn", "promoter", city.promoter), ("kim", "bm", city.bm)]
    platform.run(accounts.create_demo_accounts, logins, PASSWORD)
    names = {"admin": "admin", "consumer": "alice", "referrer": "bob", "merchant": "mia",
             "home": "hank", "partner": "pat", "promoter": "quinn", "bm": "kim"}
    by_user = {u: accounts.Account(0, u, r, p) for u, r, p in logins}
    headers = {who: {"Authorization": "Bearer " + issue_token(by_user[u], SECRET, 30)}
               for who, u in names.items()}
    app = create_app(platform, Settings(secret_key=SECRET))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, city, headers)


@pytest.fixture
def api(city: Any) -> Iterator[Api]:
    """The API over the worked example's city (on each dialect ``db_url`` is parametrised over;
    a module or test may narrow it with ``pytest.mark.parametrize("dialect", ["sqlite"])``)."""
    yield from make_api(city)
