"""Passwords: the policy a new one must meet, and argon2 hashing with bounded concurrency.

Policy (length and a blocklist, no composition rules, as NIST SP 800-63B advises), checked by
:func:`check_password` on every password set through the engine (sign-up, admin create,
password change):

- :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters (counted after NFKC normalisation);
- at least :data:`MIN_DISTINCT` different characters (refuses ``aaaaaaaaaaaa``, spaces only);
- not on the list of common passwords shipped in ``data/common-passwords.txt.gz`` (compared
  case-insensitively);
- not the username, and not containing it (case-insensitively, for names of 4 or more characters).

Hashing: argon2id with argon2-cffi's defaults. A hash costs tens of milliseconds of CPU on
several cores, so at most :data:`HASH_SLOTS` hashes or verifications run at once in a process;
the others wait their turn instead of starving every other request of CPU.
"""

from __future__ import annotations

import gzip
import os
import threading
import unicodedata
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gongsheng.domain.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_DISTINCT = 5
HASH_SLOTS = max(1, (os.cpu_count() or 2) // 2)
"""Argon2 computations allowed at once per process (each already uses several threads)."""

_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(HASH_SLOTS)
_DUMMY_HASH = _hasher.hash("not a password anyone has: equal work for unknown names")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercased."""
    data = files("gongsheng.services").joinpath("data", "common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode("utf-8").splitlines()
                     if line.strip())


def check_password(password: str | None, username: str = "") -> None:
    """Refuse a password that breaks the policy (:class:`InvalidInput`, saying which rule)."""
    text = unicodedata.normalize("NFKC", password or "")
    if len(text) < MIN_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_LENGTH} characters")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"password must have at most {MAX_LENGTH} characters")
    if len(set(text)) < MIN_DISTINCT:
        raise InvalidInput(f"password must use at least {MIN_DISTINCT} different characters")
    folded = text.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise InvalidInput("password is on the list of common passwords; choose another")
    name = unicodedata.normalize("NFKC", username or "").casefold()
    if name and (folded == name or (len(name) >= 4 and name in folded)):
        raise InvalidInput("password must not contain the username")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (waits for a free slot)."""
    with _slots:
        return str(_hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; with no hash (an unknown user) the same
    work is done and the answer is False."""
    with _slots:
        try:
            return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
