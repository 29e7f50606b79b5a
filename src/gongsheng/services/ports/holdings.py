"""Holdings of points and their release groups (the accumulator of ``services.holdings``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from gongsheng.domain.holdings import GroupRow, Holding, HoldingRow
from gongsheng.domain.ledger import JournalEntry
from gongsheng.domain.release import GroupState


class HoldingStore(Protocol):
    """A holding is keyed ``(holder, start period, multiple)``, a group ``(start period,
    multiple)``. Invariants: a group's points are the sum of its holdings' points, and a
    started group's row holds them; a group's fraction only grows; ``issued_fen`` is
    ``floor(points x multiple x fraction)`` as of the group's last change. ``lock=True`` holds
    the rows read until the transaction ends."""

    def holdings(self, holder: int, *, started_by: int | None = None,
                 later_than: int | None = None, lock: bool = False) -> list[Holding]:
        """A holder's holdings with their groups' fractions (0 for a group not started), by
        (start period, multiple); optionally only those starting by ``started_by`` or after
        ``later_than``."""
        ...

    def to_settle(self, holder: int, period: int) -> tuple[list[Holding], bool]:
        """What a settlement reads, in one read: the holder's holdings started by ``period``,
        locked, as :meth:`holdings` gives them, and whether the holder is frozen (False when
        it holds none started: a settlement then pays nothing either way)."""
        ...

    def holding(self, holder: int, start_period: int, multiple: Decimal, *,
                lock: bool = False) -> HoldingRow | None:
        ...

    def group(self, start_period: int, multiple: Decimal, *, lock: bool = False) -> GroupRow | None:
        """A group's row (:class:`GroupRow`: its points are current once it has started);
        None for a group no close has advanced (it has released nothing)."""
        ...

    def groups_due(self, period: int) -> list[GroupState]:
        """The groups starting by ``period`` with their current points and fractions."""
        ...

    def unreleased_entitlement(self) -> int:
        """Vouchers every holding may still release: the sum over groups of cap - released."""
        ...

    def settle(self, holder: int, period: int, entry: JournalEntry,
               due: Mapping[tuple[int, Decimal], int]) -> None:
        """Post a holder's settlement ``entry`` and raise the checkpoints of its holdings
        ``(start, multiple)`` by ``due``, in one write."""
        ...

    def take_points(self, holder: int, start_period: int, multiple: Decimal, taken_cpts: int,
                    settled_fen: int, *, period: int, entry: JournalEntry | None,
                    reissue: tuple[int, int] | None = None) -> None:
        """Take ``taken_cpts`` points out of a holding (read under its lock) and its group's
        points, setting the holding's checkpoint to ``settled_fen``; set a started group's
        issued vouchers and points to ``reissue`` ``(issued_fen, points_cpts)`` when given; and
        post ``entry`` (the take-back's legs) in ``period``: one write."""
        ...

    def advance(self, group: GroupState, fraction: int) -> None:
        """Move ``group`` to the cumulative ``fraction`` (a close), with its issued vouchers
        and points as of that fraction."""
        ...
