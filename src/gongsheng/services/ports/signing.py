"""Signings of merchants: who signed a merchant and how the operator decided it."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.signings import Signing


class SigningStore(Protocol):
    """A merchant has at most one signing; it is decided at most once, from ``pending`` to
    ``approved`` or ``rejected`` (a decision on a signing no longer pending changes nothing)."""

    def promoter_region(self, promoter_id: int) -> tuple[int, bool] | None:
        """``(region of its partner, whether the partner's term runs)``; None for no such promoter."""
        ...

    def parent_region(self, region_id: int) -> int | None:
        """The region ``region_id`` lies in; None at the top or for no such region."""
        ...

    def add(self, merchant_id: int, signer_role: str, signer_id: int | None) -> None:
        """Store a pending signing of ``merchant_id``."""
        ...

    def signing(self, merchant_id: int) -> Signing | None:
        ...

    def decide(self, merchant_id: int, status: str, by: str, reason: str | None) -> bool:
        """Decide the signing if it is still pending (now); whether it was."""
        ...

    def activate(self, merchant_id: int) -> None:
        """The approved merchant trades from now on."""
        ...
