"""Bearer tokens: a checked token is remembered, but its expiry is checked on every use; a token
is bound to the database it was issued for."""

from __future__ import annotations

import time

import jwt
import pytest

from gongsheng.domain.errors import Unauthorized
from gongsheng.entrypoints.api import auth
from gongsheng.services.accounts import Account

SECRET = "s" * 32
KEY = auth.database_key(SECRET, "db-one")


def token(key: auth.TokenKey = KEY, **claims: object) -> str:
    base = {"sub": "m1", "role": "merchant", "party_id": 7, "uid": 3, "gen": 0, "iss": auth.ISSUER,
            "aud": key.database_id, "exp": int(time.time()) + 60}
    return jwt.encode({**base, **claims}, key.secret, algorithm=auth.ALGORITHM)


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    good = token()
    assert auth.read_token(good, KEY) == auth.Principal("m1", "merchant", 7, 3, 0)
    hits = auth._checked.cache_info().hits
    assert auth.read_token(good, KEY).party_id == 7
    assert auth._checked.cache_info().hits == hits + 1  # checked once, then remembered
    later = time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        auth.read_token(good, KEY)


def test_forged_and_malformed_tokens_are_refused_every_time() -> None:
    good = token()
    for _ in range(2):  # a refusal is not remembered as a success
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token(good, auth.database_key("another secret of 32 characters!", "db-one"))
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token("not.a.token", KEY)
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token(token(role="emperor"), KEY)
        with pytest.raises(Unauthorized, match="not valid"):
            auth.read_token(token(gen="0"), KEY)
    assert auth.read_token(good, KEY).party_id == 7


def test_a_token_of_one_database_is_refused_by_another_under_the_same_secret() -> None:
    other = auth.database_key(SECRET, "db-two")
    assert other.secret != KEY.secret  # the key is derived per database
    issued = auth.issue_token(Account(1, "admin", "admin", None, 0), KEY, 5)
    assert auth.read_token(issued, KEY).admin
    with pytest.raises(Unauthorized, match="not valid"):
        auth.read_token(issued, other)
    # signed with the right key but addressed to another database, or to none: refused too
    with pytest.raises(Unauthorized, match="not valid"):
        auth.read_token(token(other, aud="db-one"), other)
    unaddressed = jwt.encode({"sub": "admin", "role": "admin", "party_id": None, "uid": 1, "gen": 0,
                              "iss": auth.ISSUER, "exp": int(time.time()) + 60}, KEY.secret, "HS256")
    with pytest.raises(Unauthorized, match="not valid"):
        auth.read_token(unaddressed, KEY)
