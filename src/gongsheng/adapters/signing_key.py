"""The platform's Ed25519 attestation key, kept in a file (generated on first use).

The private key is a PKCS#8 PEM file created with mode 0600 (its folder 0700 when it is made);
the public key is published beside it as ``<key file>.pub``: one line, the raw 32-byte key in
base64, which is what ``gongsheng attest --verify`` takes (``docs/integrity.md``).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from gongsheng.domain.attestation import raw_public_key
from gongsheng.domain.errors import InvalidInput


def public_key_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".pub")


def load_or_create(key_file: Path) -> Ed25519PrivateKey:
    """The key in ``key_file``; a new one written there (0600) and published if it is absent."""
    if key_file.exists():
        loaded = load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise InvalidInput(f"{key_file} is not an Ed25519 private key")
        key = loaded
    else:
        if not key_file.parent.exists():
            key_file.parent.mkdir(parents=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    pub = public_key_file(key_file)
    text = base64.b64encode(raw_public_key(key.public_key())).decode() + "\n"
    if not pub.exists() or pub.read_text() != text:
        pub.write_text(text)
    return key


def read_public_key(path: Path) -> bytes:
    """A published public key (``.pub``: base64 of the raw 32 bytes)."""
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, ValueError) as err:
        raise InvalidInput(f"cannot read the public key {path}: {err}") from err
    if len(raw) != 32:
        raise InvalidInput(f"{path} does not hold a raw Ed25519 public key")
    return raw
