"""Pay codes (付款码): the consumer's act that lets one sale spend its vouchers.

Vouchers move only by their owner's act. A merchant reports a sale; it cannot spend the
consumer's vouchers on its own. The consumer issues a pay code, a one-time secret naming

- the consumer it belongs to,
- the most vouchers the sale may use (``max_voucher_fen``, a positive integer of fen),
- optionally the one merchant that may use it,
- when it expires (a few minutes after it is issued),

and shows it to the cashier (typed or scanned). An order that spends vouchers carries it; the
order is written only if the code is live, belongs to the order's consumer, allows the order's
merchant and covers its voucher part, and the code is used up in the order's own transaction.

The form: :data:`LENGTH` characters of Crockford's base32 (digits and capitals without I, L,
O, U), :data:`BITS` random bits, shown in groups of four (``7K3M-Q9XD-2HWA``). Typing is
forgiving: case, spaces and hyphens are ignored and I/L read as 1, O as 0. Only a hash of the
code is stored (:func:`code_hash`), never the code. A guess must name the consumer as well
and can only hit one of that consumer's few live codes: with at most ``k`` live codes per
consumer, ``n`` guesses succeed with probability at most ``n * k / 2**60`` (10**9 guesses
against 10 live codes: below 1 in 10**8), and each guess must arrive before the code expires.

Invariants: a code is used at most once; a refused code never says why (unknown, expired, used,
another consumer's, another merchant's and too small a limit read the same).
"""

from __future__ import annotations

import hashlib

from gongsheng.domain.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: 32 symbols, 5 bits each, none easily mistaken for another."""
LENGTH = 12
BITS = 5 * LENGTH
GROUP = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_STRIP = str.maketrans("", "", " -\t")


def encode(number: int) -> str:
    """The code for ``number``, an integer of :data:`BITS` bits (the service draws it at random)."""
    if not 0 <= number < 1 << BITS:
        raise ValueError(f"a pay code holds {BITS} bits")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def display(code: str) -> str:
    """A code in groups of four for reading aloud or typing: ``7K3M-Q9XD-2HWA``."""
    plain = normalise(code)
    return "-".join(plain[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(text: str) -> str:
    """The code a person typed, in canonical form; :class:`InvalidInput` if it cannot be one.

    A malformed code is refused as bad input: saying so tells nothing about any consumer.
    """
    if not isinstance(text, str) or len(text) > 4 * LENGTH:
        raise InvalidInput("pay_code must be a string of the consumer's pay code")
    plain = text.translate(_STRIP).upper().translate(_READ_AS)
    if len(plain) != LENGTH or any(ch not in ALPHABET for ch in plain):
        raise InvalidInput(f"pay_code must be {LENGTH} characters of the pay code "
                           "(digits and letters, hyphens optional)")
    return plain


def code_hash(code: str) -> str:
    """What is stored of a code: the SHA-256 of its canonical form, in hex."""
    return hashlib.sha256(normalise(code).encode("ascii")).hexdigest()


def check_limit(max_voucher_fen: object, most: int) -> int:
    """``max_voucher_fen`` as a limit a code may name (a positive integer up to ``most``)."""
    if not isinstance(max_voucher_fen, int) or isinstance(max_voucher_fen, bool):
        raise InvalidInput("max_voucher_fen must be an integer")
    if not 0 < max_voucher_fen <= most:
        raise InvalidInput(f"max_voucher_fen must be between 1 and {most}")
    return max_voucher_fen
