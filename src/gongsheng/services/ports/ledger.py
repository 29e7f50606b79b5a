"""The ledger: balanced journal entries and the balances they move."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.ledger import AccountKind, Asset, JournalEntry


class LedgerStore(Protocol):
    """Entries and balances. Invariants: every entry posted is balanced per asset (a
    :class:`JournalEntry` is); an account that must stay non-negative never goes below 0 (a post
    that would take it there raises :class:`~gongsheng.domain.errors.InsufficientBalance` and
    writes nothing); a balance is the sum of every leg posted on its account."""

    def post(self, entry: JournalEntry, period: int, ref_id: int | None = None) -> int:
        """Write ``entry`` in ``period`` (``ref_id``: the row it belongs to); its id."""
        ...

    def balance(self, account: int, asset: Asset) -> int:
        """One account's balance in one asset (0 if it never moved)."""
        ...

    def system_balance(self, kind: AccountKind) -> int:
        """The balance of one of the platform's system accounts."""
        ...

    def party_balances(self, party_id: int) -> dict[AccountKind, int]:
        """Every own (non-system) account kind of a party with its balance (0 where none)."""
        ...

    def cash_and_recent_earnings(self, party_id: int, since: int) -> tuple[int, dict[int, int]]:
        """``(cash balance, {order period: net cash earnings})`` for the periods from ``since``
        on, read together (one snapshot)."""
        ...

    def lock_cash(self, account: int) -> None:
        """Hold a cash account until the transaction ends, so that two withdrawals cannot both
        pass one balance check (a no-op where writers are serialised anyway)."""
        ...
