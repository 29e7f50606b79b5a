"""Issuing and using pay codes (see :mod:`gongsheng.domain.pay_codes`).

- :func:`issue` is the consumer's act: a fresh random code for one sale, of which only the hash
  is stored; the code itself is returned once and never again. A consumer holds at most
  :data:`MAX_LIVE` live (unused, unexpired) codes, which bounds what guessing can hit: a new
  code retires the oldest live ones beyond that.
- :func:`use` is called by an order that spends vouchers, in the order's transaction: one
  conditional ``UPDATE`` marks the code used if, and only if, it is unused, unexpired, the
  consumer's, allows the merchant and covers the voucher part. Two orders racing for one code
  update the same row; the second sees it used and is refused. If the order is refused later in
  its transaction, the rollback leaves the code unused.

Expiry is judged by the engine's clock in UTC, when the order's transaction runs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import InvalidInput, NotFound, PartyFrozen, PayCodeRefused
from gongsheng.services.ports.orders import OrderStore
from gongsheng.services.ports.pay_codes import PayCodeStore
from gongsheng.services.ports.work import Work

DEFAULT_SECONDS = 5 * 60
"""How long a code lives unless the caller says otherwise (``Settings.pay_code_minutes``)."""
MAX_SECONDS = 60 * 60
MAX_LIVE = 10
"""Live codes one consumer may hold at once."""
MAX_VOUCHER_FEN = 10**12


@dataclass(frozen=True)
class IssuedPayCode:
    """A code as issued: ``code`` is shown to the consumer once and is not stored."""

    code: str
    consumer_id: int
    merchant_id: int | None
    max_voucher_fen: int
    expires_at: dt.datetime
    expires_in: int  # seconds


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def issue(uow: Work, consumer_id: int, max_voucher_fen: int,
          merchant_id: int | None = None, *, seconds: int = DEFAULT_SECONDS,
          at: dt.datetime | None = None) -> IssuedPayCode:
    """A new pay code of ``consumer_id`` for one sale of at most ``max_voucher_fen`` of vouchers.

    The caller must have established that the consumer itself is asking. With ``merchant_id``
    the code is good at that merchant only, which must be active and accept vouchers.
    """
    limit = codes.check_limit(max_voucher_fen, MAX_VOUCHER_FEN)
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"a pay code lives between 1 and {MAX_SECONDS} seconds")
    issued = at or now()
    if not uow.pay_codes.lock_consumer(consumer_id):  # also serialises a consumer's issues
        raise NotFound(f"consumer {consumer_id} does not exist")
    if uow.freezes.is_frozen(consumer_id):
        raise PartyFrozen(f"consumer {consumer_id}'s vouchers are frozen for review: no pay code "
                          "can be issued until an administrator unfreezes them")
    if merchant_id is not None:
        _check_merchant(uow.pay_codes, merchant_id)
    uow.pay_codes.retire_beyond(consumer_id, MAX_LIVE - 1, issued)
    code = codes.encode(secrets.randbits(codes.BITS))
    expires = issued + dt.timedelta(seconds=seconds)
    uow.pay_codes.add(codes.code_hash(code), consumer_id, merchant_id, limit, expires)
    return IssuedPayCode(codes.display(code), consumer_id, merchant_id, limit, expires, seconds)


def _check_merchant(pay_codes: PayCodeStore, merchant_id: int) -> None:
    found = pay_codes.merchant_acceptance(merchant_id)
    if found is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    active, accepts_vouchers = found
    if not active:
        raise InvalidInput(f"merchant {merchant_id} is not active")
    if not accepts_vouchers:
        raise InvalidInput(f"merchant {merchant_id} does not accept vouchers")


def use(orders: OrderStore, code: str, *, consumer_id: int, merchant_id: int, voucher_fen: int,
        key: str) -> None:
    """Use ``code`` up for the order under ``key``, or raise :class:`PayCodeRefused`.

    One statement decides (``OrderStore.use_pay_code``): a code is used by at most one order,
    however many race for it.
    """
    if not orders.use_pay_code(codes.code_hash(code), consumer_id=consumer_id,
                               merchant_id=merchant_id, voucher_fen=voucher_fen, key=key, at=now()):
        raise PayCodeRefused()


def revoke(uow: Work, consumer_id: int) -> int:
    """Make every live code of ``consumer_id`` unusable (a lost phone); how many there were."""
    return uow.pay_codes.revoke(consumer_id, now())
