"""Parties' external ids: the names another system knows them by (``services.importing``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol


class ExternalIdStore(Protocol):
    """An external id names at most one party, and a party has at most one; once linked, a
    party's external id is not changed by an import."""

    def parties_named(self, external_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        """The parties of those of ``external_ids`` that are linked: external id -> (id, kind)."""
        ...

    def links(self, party_ids: Collection[int],
              external_ids: Collection[str]) -> dict[int, str | None]:
        """The external id (None: none) of every party that is in ``party_ids`` or holds one of
        ``external_ids``."""
        ...

    def link(self, party_id: int, external_id: str) -> None:
        """Give a party without one its external id."""
        ...
