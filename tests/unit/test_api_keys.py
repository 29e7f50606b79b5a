"""The key format, scopes and bindings (domain/api_keys.py)."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain import api_keys as keys
from gongsheng.domain.errors import Forbidden, InvalidInput
from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.integration_access import ROUTE_SCOPES


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


@given(st.sets(st.sampled_from(list(keys.Scope))), st.sampled_from([None, "merchant", "partner"]),
       st.booleans())
def test_a_route_admits_exactly_the_keys_holding_its_scope(
        held: set[keys.Scope], party_kind: str | None, person: bool) -> None:
    """Every scope check of the route table admits a key iff it holds the scope and, for the
    platform's routes, is a platform key; a person passes every scope check (the route then
    applies the person's role)."""
    role = "admin" if party_kind is None else party_kind
    caller = (Principal("someone", "admin", None, account_id=1) if person else
              Principal("gsk_x", role, None if party_kind is None else 7, key_id=1,
                        scopes=frozenset(held)))
    assert ROUTE_SCOPES
    for check, (scope, platform_only) in ROUTE_SCOPES.items():
        admitted = person or (scope in held and (not platform_only or party_kind is None))
        try:
            check(caller)
            passed = True
        except Forbidden:
            passed = False
        assert passed == admitted, (scope, platform_only)


def test_the_listed_key_schema_is_the_services_view() -> None:
    """The API's key (``ApiKeyOut``) carries exactly the service's ``KeyView``, field for field
    and type for type, so the two cannot drift apart."""
    import dataclasses
    import typing

    from gongsheng.entrypoints.api.schemas_api_keys import ApiKeyOut
    from gongsheng.services.api_keys import KeyView

    view = typing.get_type_hints(KeyView)
    assert [f.name for f in dataclasses.fields(KeyView)] == list(ApiKeyOut.model_fields)
    assert {n: f.annotation for n, f in ApiKeyOut.model_fields.items()} == {
        f.name: view[f.name] for f in dataclasses.fields(KeyView)}
