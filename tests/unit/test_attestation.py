"""Signed attestations: canonical bytes, a valid signature verifies, any altered byte does not."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.attestation import canonical, raw_public_key, sign, verify

KEY = Ed25519PrivateKey.generate()
PUBLIC = raw_public_key(KEY.public_key())
BODY = {"format": "gongsheng-attestation-1", "period": 3, "holds": True,
        "statements": [{"name": "x", "rule": "MODEL.md 10", "holds": True,
                        "evidence": {"orders": 12, "paid_fen": {"a": 5}, "note": "中文"}}]}
DOCUMENT = sign(BODY, KEY)


def test_a_signed_attestation_verifies() -> None:
    checked = verify(DOCUMENT, PUBLIC)
    assert checked.ok, checked.detail
    assert checked.body == BODY
    assert canonical(json.loads(DOCUMENT)) == DOCUMENT


def test_another_key_does_not_verify() -> None:
    other = raw_public_key(Ed25519PrivateKey.generate().public_key())
    assert not verify(DOCUMENT, other).ok


def test_a_re_signed_body_with_another_key_is_refused() -> None:
    forged = sign({**BODY, "holds": False}, Ed25519PrivateKey.generate())
    assert not verify(forged, PUBLIC).ok


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(DOCUMENT) - 1),
       flip=st.integers(min_value=1, max_value=255))
def test_one_altered_byte_does_not_verify(position: int, flip: int) -> None:
    altered = bytearray(DOCUMENT)
    altered[position] ^= flip
    assert not verify(bytes(altered), PUBLIC).ok


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical({"rate": 0.5})
