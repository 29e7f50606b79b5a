"""The journal as a Beancount file: a faithful double-entry rendering an auditor opens in Fava.

- every journal entry is one transaction (dated by its entry's day, UTC), every leg one posting
  with the leg's exact amount: fen and centi-points become decimals with two places (``CNY``
  yuan, ``GSPT`` points, ``GSVCH`` voucher yuan), so each transaction balances per commodity
  exactly as the entry does per asset;
- every account is opened once, restricted to its commodity: the platform's system accounts
  under the root their role calls for (the pool and unsettled vouchers are owed: Liabilities,
  revenue: Income, the sources of cash, points and vouchers: Equity), each party's accounts
  under ``Liabilities:Parties:P<id>`` (what the platform holds for the party);
- a whole-books export ends with a ``balance`` assertion per account and commodity, from the
  balance rows (the trial balance): ``bean-check`` then proves the journal sums to them.

The signs are the ledger's own (positive: the account holds the asset).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from gongsheng.domain.ledger import AccountKind, Asset, describe_account

COMMODITY = {Asset.CNY: "CNY", Asset.PTS: "GSPT", Asset.VCH: "GSVCH"}
OPEN_DATE = "2000-01-01"
_SYSTEM_ROOT = {
    AccountKind.CASH_IN: "Equity:World:CashIn",
    AccountKind.CASH_OUT: "Equity:World:CashOut",
    AccountKind.POOL_AVAILABLE: "Liabilities:Pool:Available",
    AccountKind.POOL_RESERVED: "Liabilities:Pool:Reserved",
    AccountKind.PLATFORM_REVENUE: "Income:Platform:Revenue",
    AccountKind.POINTS_ISSUED: "Equity:Points:Issued",
    AccountKind.POINTS_FORFEITED: "Equity:Points:Forfeited",
    AccountKind.VOUCHERS_ISSUED: "Equity:Vouchers:Issued",
    AccountKind.VOUCHERS_UNSETTLED: "Liabilities:Vouchers:Unsettled",
    AccountKind.VOUCHERS_REDEEMED: "Equity:Vouchers:Redeemed",
}
_PARTY_LEAF = {AccountKind.CASH: "Cash", AccountKind.POINTS: "Points",
               AccountKind.VOUCHERS: "Vouchers", AccountKind.VOUCHER_DEBT: "VoucherDebt",
               AccountKind.UNITS: "Units"}


def account_path(account_id: int) -> str:
    """The Beancount account of a ledger account id."""
    party, kind = describe_account(account_id)
    if kind.system:
        return _SYSTEM_ROOT[kind]
    return f"Liabilities:Parties:P{party}:{_PARTY_LEAF[kind]}"


def units(amount: int) -> str:
    """An integer amount of hundredths as an exact decimal with two places."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header(title: str, accounts: Iterable[tuple[int, str]]) -> Iterator[str]:
    """Options, commodities and one ``open`` per account."""
    yield f"option \"title\" {_quote(title)}\n"
    yield 'option "operating_currency" "CNY"\n\n'
    for asset, commodity in COMMODITY.items():
        yield f"{OPEN_DATE} commodity {commodity}\n  name: {_quote(asset.name)}\n"
    yield "\n"
    for account_id, code in accounts:
        yield f"{OPEN_DATE} open {account_path(account_id)} {COMMODITY[Asset(code)]}\n"
    yield "\n"


def transaction(entry: dict[str, Any], legs: Iterable[dict[str, Any]]) -> str:
    """One journal entry as a Beancount transaction."""
    day = str(entry["created_at"])[:10]
    memo = entry["memo"] or entry["kind"]
    lines = [f"{day} * {_quote(entry['kind'])} {_quote(memo)}",
             f"  entry: {entry['id']}", f"  period: {entry['period']}"]
    if entry.get("ref_id") is not None:
        lines.append(f"  ref: {entry['ref_id']}")
    for leg in legs:
        lines.append(f"  {account_path(int(leg['account_id']))}  "
                     f"{units(int(leg['amount']))} {COMMODITY[Asset(leg['asset'])]}")
    return "\n".join(lines) + "\n\n"


def assertions(day: str, balances: Iterable[tuple[int, str, int]]) -> Iterator[str]:
    """A ``balance`` assertion per account, checked at the start of the day after ``day``."""
    after = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    for account_id, asset, amount in balances:
        yield (f"{after} balance {account_path(account_id)}  {units(amount)} "
               f"{COMMODITY[Asset(asset)]}\n")
