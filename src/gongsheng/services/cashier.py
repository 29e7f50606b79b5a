"""The merchant's cashier (收银): an amount and the consumer's code become one order.

The consumer shows a code from its own page: its member number alone (a sale without vouchers),
or its member number with a pay code (``12345-7K3M-Q9XD-2HWA``; the QR holds
``gongsheng:pay:12345:7K3MQ9XD2HWA``), which allows the sale to spend up to the vouchers the
consumer chose. The voucher part is the most the code, the channel's share cap and the merchant's
terms allow; the order uses the code up in its own transaction (:mod:`services.pay_codes`) and
refuses it, with one answer for every case, when it is not live, not this consumer's or not for
this merchant. The order's Idempotency-Key is the cashier form's key, scoped by the merchant, so
a double-submitted form posts one order and no merchant can meet another's key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import InvalidInput, NotFound, PayCodeRefused
from gongsheng.domain.orders import voucher_limit
from gongsheng.services import ordering
from gongsheng.services.books import policy_in_force
from gongsheng.services.ports.work import Stores, Work

QR_PREFIX = "gongsheng:pay:"
_CODE = re.compile(r"^\s*(?:gongsheng:pay:)?(\d{1,15})(?:\s*[:\-\s]\s*([0-9A-Za-z\-\s]{12,40}))?\s*$")


@dataclass(frozen=True)
class ConsumerCode:
    """What the cashier entered: the consumer's member number and, for vouchers, its pay code."""

    consumer_id: int
    pay_code: str | None


def parse_code(text: str) -> ConsumerCode:
    """The member number and pay code of a typed or scanned consumer code."""
    found = _CODE.match(text or "")
    if found is None:
        raise InvalidInput("the consumer code is the member number, optionally followed by the pay "
                           "code (as shown on the consumer's page)")
    code = found.group(2)
    return ConsumerCode(int(found.group(1)), codes.normalise(code) if code else None)


def qr_payload(consumer_id: int, code: str | None) -> str:
    """What a consumer's QR holds (the cashier's scanner types it into the code field)."""
    return f"{QR_PREFIX}{consumer_id}" + (f":{codes.normalise(code)}" if code else "")


def shown_code(consumer_id: int, code: str | None) -> str:
    """The code as the consumer's page shows it for typing."""
    return str(consumer_id) + (f"-{codes.display(code)}" if code else "")


def code_limit(stores: Stores, consumer_id: int, code: str, merchant_id: int) -> int:
    """The vouchers a live pay code allows at this merchant; :class:`PayCodeRefused` otherwise."""
    limit = stores.cashier.code_limit(codes.code_hash(code), consumer_id, merchant_id,
                                      dt.datetime.now(dt.UTC))
    if limit is None:
        raise PayCodeRefused()
    return limit


def order_key(merchant_id: int, form_key: str) -> str:
    """The order's Idempotency-Key for one cashier form (scoped by the merchant)."""
    if not re.fullmatch(r"[\x21-\x7e]{1,150}", form_key or ""):
        raise InvalidInput("the sale's key (the cashier form's, or the Idempotency-Key) is not valid; "
                           "reload the cashier page")
    return f"cashier:{merchant_id}:{form_key}"


def sell(uow: Work, merchant_id: int, amount_fen: int, consumer_code: str,
         form_key: str) -> ordering.OrderResult:
    """Place the sale the cashier rang up (see the module's docstring)."""
    key = order_key(merchant_id, form_key)
    entered = parse_code(consumer_code)
    till = uow.cashier.till(merchant_id)
    if till is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    channel, accepts_vouchers = till
    voucher = _replayed_voucher(uow, key)
    if voucher is not None:  # the same form again: the first answer (its code is spent)
        return ordering.place_order(uow, ordering.OrderRequest(
            entered.consumer_id, merchant_id, amount_fen, voucher, key))
    voucher = 0
    if entered.pay_code is not None and accepts_vouchers:
        _, policy = policy_in_force(uow)
        allowed = code_limit(uow, entered.consumer_id, entered.pay_code, merchant_id)
        voucher = min(allowed, int(voucher_limit(policy, amount_fen, at_mall=channel == "mall")))
    return ordering.place_order(uow, ordering.OrderRequest(
        entered.consumer_id, merchant_id, amount_fen, voucher, key,
        entered.pay_code if voucher else None))


def _replayed_voucher(stores: Stores, key: str) -> int | None:
    """The voucher part of the order first placed under ``key``, if any.

    A replay is checked by the order's body hash (consumer, merchant, amount, voucher part), so
    a resubmitted form with another amount or consumer is still a conflict (409).
    """
    found = stores.orders.by_key(key)
    return None if found is None else int(found["voucher_fen"])
