"""Where a run starts: from nothing (``gongsheng simulate``) or from the live books (the forecast).

A :class:`StartState` is the books' state as the engine needs it, in the books' own units:
release groups with their cumulative fractions (exact), the pool's available and reserved parts,
the vouchers holders may still spend (net of voucher debt), the last closed period's GMV and
rate, and the history of the pool's net inflow (for the ``forecast`` controller). Sim period 0
is the books' open period ``period``; a group's start ``s`` becomes ``s - period``.

How it is spread over the simulated population (documented estimates, not records): each
group's points and the vouchers held go to the agents present at period 0, consumers' over
consumers in proportion to each one's purchase intensity (points and vouchers are earned by
buying, so the heaviest buyers hold the most, and their orders are the ones that can take
vouchers), merchants' evenly over merchants; the groups keep their exact totals and fractions,
so the release the pool owes is exact. Groups of a multiple
the scenario's policy no longer uses, and groups already complete, release nothing more and are
left out. Points earned in the open period so far join period 0's own group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gongsheng.domain.release import GroupState


@dataclass(frozen=True)
class StartState:
    """The books as a run's starting point (see the module docstring). Money in fen."""

    period: int
    groups: tuple[GroupState, ...]
    pool_available_fen: int
    pool_reserved_fen: int
    consumer_vouchers_fen: int
    merchant_vouchers_fen: int
    last_gmv_fen: int
    last_rate: int | None
    inflow_history_fen: tuple[int, ...] = field(default=())

    def started(self) -> tuple[GroupState, ...]:
        """Groups releasing already (start on or before the open period) and not complete."""
        return tuple(g for g in self.groups if g.start_period <= self.period and g.active)

    def pending(self) -> tuple[GroupState, ...]:
        """Points earned in the open period so far (they start in the next period)."""
        return tuple(g for g in self.groups if g.start_period > self.period and g.points_cpts > 0)


__all__ = ["StartState"]
