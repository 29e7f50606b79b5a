"""Parties as the money-moving use cases ask about them."""

from __future__ import annotations

from typing import Protocol


class PartyStore(Protocol):
    """A party's kind never changes; it is frozen while it has an open freeze."""

    def kind(self, party_id: int) -> str | None:
        """``platform``, ``consumer``, ``merchant``, ...; None for no such party."""
        ...

    def is_frozen(self, party_id: int) -> bool:
        ...

    def region_universes(self) -> list[tuple[int, str, int]]:
        """Every region ``(id, name, merchant universe)``, by id."""
        ...

    def add_with_id(self, party_id: int, kind: str, name: str) -> None:
        """Store a party under an explicit id (the platform's, party 1); the next party stored
        without one gets a higher id."""
        ...
