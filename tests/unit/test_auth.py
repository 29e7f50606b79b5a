"""Bearer tokens: a checked token is remembered, but its expiry is checked on every use."""

from __future__ import annotations

import time

import jwt
import pytest

from gongsheng.domain.errors import Unauthorized
from gongsheng.entrypoints.api import auth

SECRET = "s" * 32


def token(**claims: object) -> str:
    base = {"sub": "m1", "role": "merchant", "party_id": 7, "iss": auth.ISSUER,
            "exp": int(time.time()) + 60}
    return jwt.encode({**base, **claims}, SECRET, algorithm=auth.ALGORITHM)


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    good = token()
    assert auth.read_token(good, SECRET) == auth.Principal("m1", "merchant", 7)
    hits = auth._checked.cache_info().hits
    assert auth.read_token(good, SECRET).party_id == 7
    assert auth._checked.cache_info().hits == hits + 1  # checked once, then remembered
    later = time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        auth.read_token(good, SECRET)


def test_forged_and_malformed_tokens_are_refused_every_time() -> None:
    good = token()
    for _ in range(2):  # a refusal is not remembered as a success
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token(good, "another secret of 32 characters!")
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token("not.a.token", SECRET)
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token(token(role="emperor"), SECRET)
    assert auth.read_token(good, SECRET).party_id == 7
