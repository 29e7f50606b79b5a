"""Freezes of parties (``services.freezes``)."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.freezes import FreezeRecord


class FreezeStore(Protocol):
    """A party has at most one open freeze (it is frozen while it has one); ended freezes stay."""

    def is_frozen(self, party_id: int) -> bool:
        ...

    def open_freeze(self, party_id: int) -> FreezeRecord | None:
        ...

    def add(self, party_id: int, reason: str, actor: str) -> None:
        """Open a freeze of a party that has none."""
        ...

    def end(self, freeze_id: int, actor: str) -> None:
        """End an open freeze, by ``actor``, now."""
        ...

    def history(self, party_id: int, limit: int = 50) -> list[FreezeRecord]:
        """The party's freezes, newest first."""
        ...

    def frozen_among(self, party_ids: list[int]) -> set[int]:
        """Which of ``party_ids`` are frozen now."""
        ...
