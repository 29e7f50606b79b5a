"""Compliance attestations (合规证明): canonical JSON documents, signed with Ed25519.

A document is ``{"attestation": {...}, "signature": {...}}``. The signature is over the
canonical JSON of the ``attestation`` member: keys sorted, no insignificant whitespace, UTF-8,
integers and strings only (no floats). The file itself is the canonical JSON of the whole
document, and a verifier refuses a file that is not byte for byte its own canonical form, so
one altered byte anywhere fails verification (``docs/integrity.md``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "gongsheng-attestation-1"
ALGORITHM = "Ed25519"


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (floats refused: amounts are exact integers)."""
    def no_floats(v: Any) -> None:
        if isinstance(v, float):
            raise TypeError("attestations hold no floats")
        if isinstance(v, dict):
            for item in v.values():
                no_floats(item)
        elif isinstance(v, list):
            for item in v:
                no_floats(item)
    no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Statement:
    """One machine-checkable statement: its rule (MODEL.md section), whether it holds, evidence."""

    name: str
    rule: str
    holds: bool
    evidence: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rule": self.rule, "holds": self.holds, "evidence": self.evidence}


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public).hexdigest()[:16]


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The signed document's canonical bytes."""
    public = raw_public_key(key.public_key())
    signature = key.sign(canonical(body))
    return canonical({"attestation": body, "signature": {
        "algorithm": ALGORITHM, "key_id": key_id(public),
        "public_key": base64.b64encode(public).decode(),
        "value": base64.b64encode(signature).decode()}})


@dataclass(frozen=True)
class Verified:
    ok: bool
    detail: str
    body: dict[str, Any] | None = None


def verify(document: bytes, public: bytes) -> Verified:
    """Check ``document`` against the platform's raw Ed25519 public key."""
    try:
        parsed = json.loads(document.decode("utf-8"))
        body, sig = parsed["attestation"], parsed["signature"]
        if canonical(parsed) != document:
            return Verified(False, "the file is not in canonical form: it was altered")
        if set(parsed) != {"attestation", "signature"} or \
                set(sig) != {"algorithm", "key_id", "public_key", "value"}:
            return Verified(False, "the document's members differ from a signed attestation's")
        if sig["key_id"] != key_id(public):
            return Verified(False, f"signed by key {sig['key_id']}, not by {key_id(public)}")
        if sig.get("algorithm") != ALGORITHM:
            return Verified(False, f"unknown signature algorithm {sig.get('algorithm')!r}")
        if sig.get("public_key") != base64.b64encode(public).decode():
            return Verified(False, f"signed by key {sig.get('key_id')}, not by {key_id(public)}")
        value = base64.b64decode(sig["value"], validate=True)
        if base64.b64encode(value).decode() != sig["value"]:  # base64 has slack in its last bits
            return Verified(False, "the signature is not in canonical form: it was altered")
        Ed25519PublicKey.from_public_bytes(public).verify(value, canonical(body))
    except InvalidSignature:
        return Verified(False, "the signature does not match the document")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
        return Verified(False, f"not a signed attestation: {err.__class__.__name__}")
    if not isinstance(body, dict):
        return Verified(False, "not a signed attestation")
    return Verified(True, f"signature valid (key {key_id(public)})", body)
