"""Share programmes of the shared-shareholder store: units and dividends."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.programmes import Programme


class ProgrammeStore(Protocol):
    """Units sold never exceed units offered (the use case checks under ``lock``); a holder's
    units only grow; at most one dividend per programme and period."""

    def merchant_active(self, merchant_id: int) -> bool | None:
        """Whether a merchant is active; None for no such merchant."""
        ...

    def add_programme(self, merchant_id: int, unit_price_cpts: int, units_offered: int,
                      profit_share: str) -> int:
        """Store a programme with no unit sold; its id."""
        ...

    def programme(self, programme_id: int, *, lock: bool = False) -> Programme | None:
        ...

    def sell_units(self, programme_id: int, holder_id: int, units: int) -> None:
        """Raise the programme's units sold and the holder's units by ``units``."""
        ...

    def dividend_declared(self, programme_id: int, period: int) -> bool:
        ...

    def unit_holders(self, programme_id: int) -> list[tuple[int, int]]:
        """``(holder, units)`` of every holder with units, by holder."""
        ...

    def add_dividend(self, programme_id: int, period: int, profit_fen: int, paid_fen: int) -> None:
        ...
