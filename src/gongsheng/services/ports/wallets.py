"""What a wallet read needs of the books at once (``services.wallets``)."""

from __future__ import annotations

from typing import Protocol


class WalletStore(Protocol):
    """A wallet is read after the books lock is taken shared, so the open period it settles
    the holder in cannot close under it."""

    def settling(self, party_id: int, *, alone: bool = False) -> tuple[str, int, int] | None:
        """Take the books lock shared (``alone``: the transaction writes nothing but a
        settlement, its commit need not wait for the disk), then read the party's kind, the
        open period and the last closed period's release rate (0 before any close); None for
        no such party."""
        ...
