"""A holding: a holder's points in one release group, with the group's released fraction.

``owed_fen = floor(points x multiple x fraction)`` (what the holding has released to date) and
``cap_fen`` (what it releases in full) are derived, never stored; ``settled_fen`` is the
checkpoint of what was paid, and ``settled_fen <= owed_fen`` while the holder is not frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gongsheng.domain.money import ratio
from gongsheng.domain.release import SCALE, released_to_date


@dataclass(frozen=True)
class Holding:
    """One holding as a wallet shows it."""

    start_period: int
    multiple: Decimal
    points_cpts: int
    fraction: int  # the group's released fraction, x SCALE
    settled_fen: int

    @property
    def cap_fen(self) -> int:
        num, den = ratio(self.multiple)
        return int(released_to_date(self.points_cpts, num, den, SCALE))

    @property
    def owed_fen(self) -> int:
        num, den = ratio(self.multiple)
        return int(released_to_date(self.points_cpts, num, den, self.fraction))


@dataclass(frozen=True)
class HoldingRow:
    """A holding's own row: its points and its checkpoint (no group fraction)."""

    points_cpts: int
    settled_fen: int


@dataclass(frozen=True)
class GroupRow:
    """A release group's row: its cumulative fraction (x SCALE), the vouchers it issued and its
    points as its last close or take-back set them. Those are all the points a started group
    (fraction > 0) holds: every close sets them, orders add points only to groups not started,
    and a take-back from a started group sets them with its issued vouchers."""

    fraction: int
    issued_fen: int
    points_cpts: int


def unreleased(multiple: Decimal, points_cpts: int, fraction: int) -> int:
    """Vouchers ``points_cpts`` of a group may still release: cap less released to date."""
    num, den = ratio(multiple)
    return int(released_to_date(points_cpts, num, den, SCALE)) - int(
        released_to_date(points_cpts, num, den, fraction))
