"""The double-entry ledger: assets, accounts, postings and journal entries.

Three assets are kept: ``CNY`` (fen), ``PTS`` (centi-points) and ``VCH`` (vouchers, fen). Amounts
are signed: positive means the account holds the asset. Invariants:

- a :class:`JournalEntry` has at least two postings and its postings sum to zero **per asset**;
  it cannot be built otherwise, and the database refuses to store one otherwise;
- the journal is append-only: corrections are new entries;
- hence, over the whole ledger, every asset sums to zero (the trial balance).

An account is identified by an integer derived from its owner and its kind
(:func:`account_id`), so no lookup is needed to post: ``party_id * 64 + kind.code``. Party 1 is
the platform, which owns the system accounts (pool, revenue, clearing accounts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

from gongsheng.domain.errors import InvariantViolation

PLATFORM_PARTY_ID = 1
ACCOUNTS_PER_PARTY = 64


class Asset(StrEnum):
    CNY = "CNY"  # money, fen
    PTS = "PTS"  # green points 绿色积分, centi-points
    VCH = "VCH"  # vouchers 抵用券, fen of face value


class AccountKind(Enum):
    """Kinds of account: ``(code, asset, must stay >= 0, owned by the platform)``."""

    # the platform's system accounts
    CASH_IN = (1, Asset.CNY, False, True)            # cash received from buyers (the world)
    CASH_OUT = (2, Asset.CNY, False, True)           # cash paid out to parties (the world)
    POOL_AVAILABLE = (3, Asset.CNY, False, True)     # dividend pool 分红池, free to release
    POOL_RESERVED = (4, Asset.CNY, False, True)      # reserve for released, unspent vouchers
    PLATFORM_REVENUE = (5, Asset.CNY, False, True)   # platform fee 平台收入
    POINTS_ISSUED = (6, Asset.PTS, False, True)      # source of every point
    POINTS_FORFEITED = (7, Asset.PTS, False, True)   # points exchanged away (cap forfeited)
    VOUCHERS_ISSUED = (8, Asset.VCH, False, True)    # source of every voucher
    VOUCHERS_UNSETTLED = (9, Asset.VCH, False, True)  # released at close, not yet settled
    VOUCHERS_REDEEMED = (10, Asset.VCH, False, True)  # vouchers spent on orders
    # accounts of every other party
    CASH = (16, Asset.CNY, False, False)             # commissions, settlement; may go negative
    POINTS = (17, Asset.PTS, True, False)            # points held
    VOUCHERS = (18, Asset.VCH, True, False)          # vouchers held, spendable
    VOUCHER_DEBT = (19, Asset.VCH, False, False)     # vouchers taken back after being spent (<= 0)
    UNITS = (20, Asset.PTS, True, False)             # points exchanged into store units

    def __init__(self, code: int, asset: Asset, nonnegative: bool, system: bool) -> None:
        # plain attributes, not properties over ``value``: read for every leg of every order
        self.code = code
        self.asset = asset
        self.nonnegative = nonnegative
        self.system = system


_KIND_BY_CODE = {k.code: k for k in AccountKind}


def account_id(party_id: int, kind: AccountKind) -> int:
    """The id of ``party_id``'s account of ``kind`` (system kinds belong to the platform)."""
    owner = PLATFORM_PARTY_ID if kind.system else party_id
    return owner * ACCOUNTS_PER_PARTY + kind.code


def system_account(kind: AccountKind) -> int:
    return account_id(PLATFORM_PARTY_ID, kind)


def describe_account(acc: int) -> tuple[int, AccountKind]:
    """``(party_id, kind)`` of an account id."""
    party, code = divmod(acc, ACCOUNTS_PER_PARTY)
    try:
        return party, _KIND_BY_CODE[code]
    except KeyError:
        raise InvariantViolation(f"account {acc} has an unknown kind code {code}") from None


def account_name(acc: int) -> str:
    party, kind = describe_account(acc)
    return kind.name.lower() if kind.system else f"party:{party}:{kind.name.lower()}"


@dataclass(frozen=True)
class Posting:
    """One leg of an entry: ``amount`` of ``asset`` into (``> 0``) or out of (``< 0``) an account."""

    account: int
    asset: Asset
    amount: int


class EntryKind(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    PAYOUT = "payout"
    RELEASE = "release"        # aggregate release at a period close
    SETTLEMENT = "settlement"  # a holder's lazy settlement of released vouchers
    CLAWBACK = "clawback"      # vouchers taken back on refunded points
    EXCHANGE = "exchange"      # points exchanged for store units
    DIVIDEND = "dividend"      # store profit paid to unit holders
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class JournalEntry:
    """A balanced set of postings. Legs of one account and asset are merged; zero legs dropped."""

    kind: EntryKind
    postings: tuple[Posting, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        sums: dict[Asset, int] = defaultdict(int)
        for p in self.postings:
            if p.account.__class__ is not int or p.amount.__class__ is not int:
                raise InvariantViolation("posting account and amount must be integers")
            if p.account % ACCOUNTS_PER_PARTY not in _KIND_BY_CODE or (
                _KIND_BY_CODE[p.account % ACCOUNTS_PER_PARTY].asset is not p.asset
            ):
                raise InvariantViolation(f"account {p.account} does not hold {p.asset}")
            sums[p.asset] += p.amount
        unbalanced = {a: s for a, s in sums.items() if s}
        if unbalanced:
            raise InvariantViolation(f"{self.kind} entry does not balance: {unbalanced}")
        if len(self.postings) < 2:
            raise InvariantViolation(f"{self.kind} entry needs at least two postings")

    @classmethod
    def build(cls, kind: EntryKind, legs: Iterable[tuple[int, Asset, int]],
              memo: str = "") -> JournalEntry | None:
        """An entry from ``(account, asset, amount)`` legs, merged per account; None if all zero."""
        merged: dict[tuple[int, Asset], int] = defaultdict(int)
        for acc, asset, amount in legs:
            merged[(acc, asset)] += int(amount)
        postings = tuple(Posting(a, s, v) for (a, s), v in sorted(merged.items()) if v)
        if not postings:
            return None
        return cls(kind, postings, memo)


def trial_balance(postings: Iterable[Posting]) -> dict[tuple[int, Asset], int]:
    """Balance per (account, asset) of a set of postings."""
    out: dict[tuple[int, Asset], int] = defaultdict(int)
    for p in postings:
        out[(p.account, p.asset)] += p.amount
    return dict(out)


def unbalanced_assets(balances: Mapping[tuple[int, Asset], int]) -> dict[Asset, int]:
    """Assets whose balances do not sum to zero (empty when the books balance)."""
    sums: dict[Asset, int] = defaultdict(int)
    for (_, asset), amount in balances.items():
        sums[asset] += amount
    return off_assets(sums)


def off_assets(totals: Mapping[Asset, int]) -> dict[Asset, int]:
    """Of every account's balance summed per asset, the assets whose sum is not zero: double
    entry means every asset sums to zero, so the books balance when this is empty."""
    return {a: s for a, s in totals.items() if s}
