"""The key format, scopes and bindings (domain/api_keys.py)."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain import api_keys as keys
from gongsheng.domain.errors import InvalidInput


@given(st.binary(min_size=6, max_size=6), st.binary(min_size=32, max_size=32))
def test_every_formatted_key_parses_back_to_its_lookup(lookup: bytes, secret: bytes) -> None:
    import base64

    text = keys.format_key(lookup.hex(), base64.urlsafe_b64encode(secret).rstrip(b"=").decode())
    parsed = keys.parse_key(text)
    assert parsed is not None and parsed.lookup == lookup.hex() and parsed.text == text
    assert keys.looks_like_key(text)
    assert keys.digest_matches(text, keys.digest(text))
    assert not keys.digest_matches(text + "x", keys.digest(text))


@given(st.text(max_size=80))
def test_anything_else_is_not_a_key(text: str) -> None:
    if keys.parse_key(text) is not None:  # only the exact shape parses
        assert len(text) == len(keys.PREFIX) + keys.LOOKUP_CHARS + 1 + 43


@pytest.mark.parametrize("text", ["gsk_", "gsk_0123456789ab", "gsk_0123456789AB_" + "a" * 43,
                                  "gsk_0123456789ab_" + "a" * 42, "gsk_0123456789ab-" + "a" * 43,
                                  "Bearer gsk_0123456789ab_" + "a" * 43])
def test_malformed_keys_do_not_parse(text: str) -> None:
    assert keys.parse_key(text) is None


def test_a_real_secret_has_the_expected_shape() -> None:
    text = keys.format_key(secrets.token_hex(6), secrets.token_urlsafe(keys.SECRET_BYTES))
    assert keys.parse_key(text) is not None


def test_scopes_and_bindings() -> None:
    assert keys.parse_scopes(["orders:write", " reports:read"]) == {
        keys.Scope.ORDERS_WRITE, keys.Scope.REPORTS_READ}
    for bad in ([], ["orders:read"]):
        with pytest.raises(InvalidInput):
            keys.parse_scopes(bad)
    every = frozenset(keys.Scope)
    keys.check_binding(None, every)  # a platform key may hold every scope
    keys.check_binding("merchant", every - keys.PLATFORM_ONLY)
    with pytest.raises(InvalidInput, match="platform keys only"):
        keys.check_binding("merchant", frozenset({keys.Scope.EVENTS_READ}))
    with pytest.raises(InvalidInput, match="only a merchant"):
        keys.check_binding("partner", frozenset({keys.Scope.REFUNDS_WRITE}))
    keys.check_binding("partner", frozenset({keys.Scope.WALLETS_READ, keys.Scope.REPORTS_READ}))


def test_state_and_last_used_resolution() -> None:
    assert keys.state(None, None, 5) == "active"
    assert keys.state(None, 5, 4) == "active" and keys.state(None, 5, 5) == "expired"
    assert keys.state(3, 5, 9) == "revoked"
    assert keys.last_used_due(None, 0)
    assert not keys.last_used_due(1000, 1000 + keys.LAST_USED_RESOLUTION_MS - 1)
    assert keys.last_used_due(1000, 1000 + keys.LAST_USED_RESOLUTION_MS)
