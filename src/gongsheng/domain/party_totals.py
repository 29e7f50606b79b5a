"""Per-(party, period) totals (分方分期合计), kept as entries post, so reports never sum postings.

Named totals, each a plain integer:

- ``<account kind>:<entry kind>`` (``cash:order``, ``points:refund``...): the sum of every leg
  posted to that party's account of that kind by entries of that kind in the period. Summed
  over every period and entry kind, a party's ``cash:*`` totals equal its cash balance. The
  platform's system accounts (pool, revenue, clearing) have none: nothing reads them per
  period, and every order would add to them.
- ``sales:*`` and ``own_cash:*`` of a merchant: its own orders per order period (``orders``,
  ``amount_fen``, ``concession_fen``, ``voucher_fen``, and ``refunded_fen`` as refunds come in),
  and the cash its own orders and their refunds posted to it (``own_cash:order``,
  ``own_cash:refund``, per entry period). ``cash:order - own_cash:order`` is then what the
  merchant earned on orders at other merchants (acquisition rewards).
- ``buyer:orders`` of a consumer: its orders placed in the period, always in stripe 0 (only its
  own orders write it), so one row holds the count and an index on it finds heavy buyers.
- ``referees:idle`` of a consumer, in the lifetime period 0: the consumers it referred who have
  not ordered yet (up one at a referee's registration, down one at its first order; stripe 0).

- ``parties:<account kind>`` of the platform party, lifetime (period 0): what every party's
  accounts of that kind hold together (striped: every order moves them). With the system
  accounts' balance rows they give the trial balance's per-kind and per-asset totals without
  reading every account.

Invariant (tested against a brute-force sum over postings and orders): every total equals the
sum it names. Pure: the adapters write these as additive, striped rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from gongsheng.domain.ledger import (
    ACCOUNTS_PER_PARTY,
    PLATFORM_PARTY_ID,
    AccountKind,
    JournalEntry,
    account_id,
)

SALES = ("orders", "amount_fen", "concession_fen", "voucher_fen", "refunded_fen")
"""The ``sales:<name>`` totals of a merchant's own orders (per order period)."""

BUYER_ORDERS = "buyer:orders"
"""A consumer's orders in a period (one row, stripe 0)."""

IDLE_REFEREES = "referees:idle"
"""A referrer's referees who never ordered (lifetime: period 0, one row, stripe 0)."""
LIFETIME = 0
"""The period number lifetime totals are kept under (as the lifetime counters)."""

_KINDS = {k.code: k for k in AccountKind}


def posted(kind: AccountKind, entry_kind: str) -> str:
    """The name of the total of legs posted to accounts of ``kind`` by entries of ``entry_kind``."""
    return f"{kind.name.lower()}:{entry_kind}"


def split_posted(name: str) -> tuple[AccountKind, str] | None:
    """``(account kind, entry kind)`` of a ``posted`` name; ``None`` for other totals."""
    head, _, tail = name.partition(":")
    kind = AccountKind.__members__.get(head.upper())
    return None if kind is None or not tail else (kind, tail)


def all_parties(kind: AccountKind) -> str:
    """The name of the lifetime total of every party's accounts of ``kind``."""
    return f"parties:{kind.name.lower()}"


def entry_totals(entry: JournalEntry) -> dict[tuple[int, int, str, bool], int]:
    """``(party, period offset, name, nonnegative account)`` -> amount, for every leg of
    ``entry`` to a party's account: the party's own total (offset 1: the entry's period) and
    the all-parties total of its kind (offset 0: the lifetime period). The platform's system
    accounts keep no totals: their balance rows and the period counters already tell."""
    out: dict[tuple[int, int, str, bool], int] = defaultdict(int)
    for p in entry.postings:
        party, code = divmod(p.account, ACCOUNTS_PER_PARTY)
        kind = _KINDS[code]
        if not kind.system:
            out[(party, 1, posted(kind, entry.kind.value), kind.nonnegative)] += p.amount
            out[(PLATFORM_PARTY_ID, 0, all_parties(kind), False)] += p.amount
    return dict(out)


def cash_leg(entry: JournalEntry, party: int) -> int:
    """What ``entry`` posted to ``party``'s cash account."""
    acc = account_id(party, AccountKind.CASH)
    return sum(p.amount for p in entry.postings if p.account == acc)


def order_sales(order: Mapping[str, int], entry: JournalEntry) -> dict[str, int]:
    """The merchant's ``sales:*`` and ``own_cash:order`` totals one order adds (zeros left out)."""
    out = {"sales:orders": 1, "sales:amount_fen": order["amount_fen"],
           "sales:concession_fen": order["concession_fen"],
           "sales:voucher_fen": order["voucher_fen"],
           "own_cash:order": cash_leg(entry, order["merchant_id"])}
    return {k: v for k, v in out.items() if v}


def merged(rows: Iterable[tuple[int, int, str, int, int]]) -> list[tuple[int, int, str, int, int]]:
    """``(party, period, name, stripe, value)`` rows merged per key, sorted by key.

    A merged zero is kept: a total's row exists exactly when something was posted to it, as a
    group of postings exists even when its sum is zero."""
    out: dict[tuple[int, int, str, int], int] = defaultdict(int)
    for party, period, name, stripe, value in rows:
        out[(party, period, name, stripe)] += value
    return [(*k, v) for k, v in sorted(out.items())]
