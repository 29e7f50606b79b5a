"""Risk flags and abuse cases (``services.flags``, ``services.cases``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gongsheng.adapters.paging import KeyedPage


class CaseStore(Protocol):
    """A flag is stored once per ``flag_key``; an undecided case carries a unique ``open_key``
    (its subject), cleared when it is decided; a case's parties and orders are sets. Rows are
    returned as records with the tables' column names."""

    def add_flags(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Store flags; the ``flag_key`` of each that is new (the others were stored already)."""
        ...

    def file_flags(self, cases: Mapping[str, int]) -> None:
        """Record in which case each flag (by ``flag_key``) was filed."""
        ...

    def undecided_cases(self, open_keys: Iterable[str]) -> dict[str, int]:
        """The undecided case under each of ``open_keys`` that has one."""
        ...

    def undecided_case(self, open_key: str) -> int | None:
        ...

    def insert_case(self, values: dict[str, Any]) -> int | None:
        """A new case's id, or None when a concurrent writer opened one under the same open_key."""
        ...

    def insert_cases(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """New cases, each under its ``open_key``; the id of each by its open_key (one a concurrent
        writer opened first is left out)."""
        ...

    def add_case_parties(self, rows: Iterable[tuple[int, int, str]]) -> list[tuple[int, int]]:
        """Add ``(case, party, role)`` rows (a party already in its case, or given twice for it,
        keeps its first role); the ``(case, party)`` pairs that are new."""
        ...

    def add_case_orders(self, rows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        """Add ``(case, order)`` rows; the pairs that are new."""
        ...

    def add_parties(self, case_id: int, parties: Iterable[tuple[int, str]]) -> list[int]:
        """Add ``(party, role)`` pairs to a case; the parties that are new to it."""
        ...

    def add_orders(self, case_id: int, order_ids: Iterable[int]) -> list[int]:
        """Add orders to a case; the ones that are new to it."""
        ...

    def case_row(self, case_id: int, *, for_update: bool = False) -> Any:
        ...

    def set_status(self, case_id: int, status: str, *, actor: str | None,
                   decision: str | None, decided: bool) -> None:
        ...

    def add_note(self, case_id: int, actor: str, body: str) -> int:
        ...

    def parties_of(self, case_id: int) -> list[tuple[int, str]]:
        ...

    def orders_of(self, case_id: int) -> list[int]:
        ...

    def notes_of(self, case_id: int) -> list[Any]:
        ...

    def flags_of(self, case_id: int, limit: int) -> list[Any]:
        ...

    def list_cases(self, status: str | None, limit: int, before: int | None = None,
                   after: int | None = None, newer: bool = False) -> KeyedPage[Any]:
        """Cases newest first, one page by key (``ix_cases_status_key`` when a status is given)."""
        ...

    def flags_since(self, period: int, limit: int) -> list[Any]:
        """Stored flags of ``period`` and later, newest first (through ``ix_risk_flags_period``)."""
        ...

    def known(self, what: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are ids of a ``party`` or an ``order`` (``what``)."""
        ...

    def refundable_orders(self, order_ids: Sequence[int]) -> list[tuple[int, int, int, int, int | None, int]]:
        """``(order, amount left to refund, consumer, merchant, referrer, voucher + pool fen)`` of
        those of ``order_ids`` not refunded in full, by id."""
        ...
