"""Wash-trading rings (刷单) inside a run: merchants buying from themselves through fake accounts.

The scenario's ``[abuse]`` table (:class:`~gongsheng.sim.scenario.Abuse`) says how many there
are and how they behave; this module keeps their books beside the honest population's:

- **Who.** When a merchant is signed, it becomes a ring if it is an alliance merchant that
  accepts vouchers and its own uniform draw is below ``merchant_share``. Draws come from a
  stream of their own (derived from the run's seed sequence, never from the run's generator), so
  the honest population, its orders and its draws are the same with or without rings, and every
  setting of the abuse study sees the same rings (common random numbers).
- **Orders.** Each period from its signing until detected, each of a ring's ``fake_consumers``
  accounts places one order of ``spend_fen`` at the ring's merchant, without vouchers and with
  the merchant as home merchant (so no acquisition reward: that part goes to the pool). The
  waterfall is the domain's, per order (:func:`~gongsheng.sim.orders.split_each`); each account
  earns consumer points and the merchant the same points again (MODEL.md sections 2-3).
- **Release.** A ring's points join the period's release groups like anyone's: the rate is one
  for all (the domain's ``choose_rate`` over every group), so the rings dilute honest holders.
  Each ring has a consumer-side and a merchant-side :class:`~gongsheng.sim.holdings.HolderBook`
  (one holder per ring, each fake account standing for one of ``fake_consumers`` equal holders).
- **Hold and cash.** What a ring's holdings release at the close of ``t`` is held and cashed at
  the close of ``t + hold_periods``: the consumer side spent at the ring's own merchant, which the
  pool reimburses at face value (the merchant settlement the hold delays), the merchant side
  spent at the mall (cost to the pool: the mall's cost share). Cashed value counts at face.
- **Detection.** At each close, after cashing what is due, an active ring is detected with
  probability ``detection_rate``: ring *i* is detected at the close of ``start_i + j_i`` with
  ``j_i = floor(log(1 - u_i) / log(1 - detection_rate))`` (geometric, one uniform ``u_i`` per
  ring, so a higher rate never detects a ring later). A detected ring stops ordering and forfeits
  what is still held (its last ``hold_periods`` releases) and its unreleased entitlement: its
  points leave the groups, both stay in the pool. The concessions it paid stay where the
  waterfall sent them.

Pool accounting (per period, as the engine's): cashing moves the amount out of ``reserved`` and
pays its cost out of ``available``; a forfeit moves the held amount from ``reserved`` back to
``available``. A ring's **net gain** to date is what it cashed minus the concessions it paid
(its orders' gross comes back to it as merchant settlement, less the concession).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.money import apply_rate
from gongsheng.domain.policy import Policy
from gongsheng.sim.holdings import Groups, HolderBook
from gongsheng.sim.orders import Split, split_each
from gongsheng.sim.population import CH_ALLIANCE, Population
from gongsheng.sim.scenario import Abuse, Mode

Arr = npt.NDArray[Any]

#: Appended to the run's spawn key: the rings' own stream.
STREAM_KEY = 0xAB05E
NEVER = np.iinfo(np.int64).max


def ring_stream(rng: np.random.Generator, seed: int) -> np.random.Generator:
    """The rings' generator: a child of the run's seed sequence that the run itself never uses."""
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if isinstance(seq, np.random.SeedSequence):
        child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, STREAM_KEY))
    else:
        child = np.random.SeedSequence([seed, STREAM_KEY])
    return np.random.Generator(np.random.PCG64(child))


def detection_delay(u: Arr, rate: float) -> Arr:
    """Closes after its first order at which a ring is detected (0: at the first), geometric."""
    if rate <= 0:
        return np.full(len(u), NEVER, np.int64)
    if rate >= 1:
        return np.zeros(len(u), np.int64)
    delay: Arr = np.floor(np.log1p(-u) / np.log1p(-rate)).astype(np.int64)
    return delay


class Rings:
    """The rings of one run and their books (see the module docstring). Empty when share is 0."""

    def __init__(self, abuse: Abuse, policy: Policy, pop: Population, mode: Mode,
                 rng: np.random.Generator, seed: int) -> None:
        self.a, self.policy, self.pop, self.mode = abuse, policy, pop, mode
        size = len(pop.m_region)
        stream = ring_stream(rng, seed)
        self._pick = stream.random(size)
        self._delay = detection_delay(stream.random(size), abuse.detection_rate)
        self.merchant = np.zeros(0, np.int64)
        self.start = np.zeros(0, np.int64)
        self.detect_at = np.zeros(0, np.int64)
        self.active = np.zeros(0, bool)
        self._seen = 1  # merchants examined so far (0 is the mall)
        self.cbook = HolderBook(size, policy.consumer_cap_multiple, mode)
        self.mbook = HolderBook(size, policy.merchant_cap_multiple, mode)
        self._held: deque[tuple[int, Arr, Arr]] = deque()  # (close that cashes it, consumer, merchant)
        self._cpts = np.zeros(0, np.int64)
        self._mpts = np.zeros(0, np.int64)

    @property
    def count(self) -> int:
        return len(self.merchant)

    def _sign(self, t: int) -> None:
        pop = self.pop
        new = np.arange(self._seen, pop.nm)
        self._seen = pop.nm
        chosen = new[(pop.m_channel[new] == CH_ALLIANCE) & pop.m_accepts[new]
                     & (self._pick[new] < self.a.merchant_share)]
        self.merchant = np.concatenate([self.merchant, chosen])
        self.start = np.concatenate([self.start, np.full(len(chosen), t, np.int64)])
        delay = self._delay[chosen]
        at = np.where(delay == NEVER, NEVER, t + np.minimum(delay, NEVER - t - 1))
        self.detect_at = np.concatenate([self.detect_at, at])
        self.active = np.concatenate([self.active, np.ones(len(chosen), bool)])

    def orders(self, t: int) -> Split:
        """Sign the period's rings, place their orders; return the orders' waterfall (weighted)."""
        self._sign(t)
        m = self.merchant[self.active]
        k = self.a.fake_consumers
        gross = np.full(len(m), self.a.spend_fen, np.int64)
        wash = split_each(self.pop, m, gross, np.full(len(m), k, np.int64),
                          np.zeros(len(m), bool))
        points = apply_rate(wash.conc // k, self.policy.points_per_yuan)  # per account
        self._cpts = np.zeros(self.count, np.int64)
        self._cpts[self.active] = points
        self._mpts = self._cpts * k
        return wash

    def points(self) -> tuple[int, int]:
        """The period's points of all rings: consumer side (all accounts), merchant side."""
        return int(self._cpts.sum()) * self.a.fake_consumers, int(self._mpts.sum())

    def settle(self, t: int, cfraction: Arr, mfraction: Arr) -> tuple[Any, Any]:
        """Credit the rings with the close's release and hold it; return ``(credited, the part
        of it the consumer side holds)``, totals in fen."""
        inc_c = self.cbook.settle(cfraction)[: self.count] * self.a.fake_consumers
        inc_m = self.mbook.settle(mfraction)[: self.count]
        self._held.append((t + self.a.hold_periods, inc_c, inc_m))
        return inc_c.sum() + inc_m.sum(), inc_c.sum()

    def cash(self, t: int) -> tuple[Any, Any]:
        """Cash every held release due at the close of ``t``; return ``(face value, cost to pool)``."""
        face: Any = 0
        cost: Any = 0
        while self._held and self._held[0][0] <= t:
            _, c, m = self._held.popleft()
            mall = (apply_rate(m, self.policy.vouchers.mall_cost_share) if self.mode == "exact"
                    else m * float(self.policy.vouchers.mall_cost_share))
            face, cost = face + c.sum() + m.sum(), cost + c.sum() + np.sum(mall)
        return face, cost

    def detect(self, t: int, cgroups: Groups, mgroups: Groups) -> tuple[int, Any, Any]:
        """Detect the rings due at the close of ``t``: they stop, forfeit what is held and their
        unreleased entitlement (their points leave the groups). Returns ``(rings detected,
        held forfeited, entitlement cancelled)``."""
        caught = np.flatnonzero(self.active & (self.detect_at <= t))
        if not len(caught):
            return 0, 0, 0
        self.active[caught] = False
        held: Any = 0
        for _, c, m in self._held:
            here = caught[caught < len(c)]
            held = held + c[here].sum() + m[here].sum()
            c[here], m[here] = 0, 0
        k = self.a.fake_consumers
        ctaken, ccancel = self.cbook.withdraw(caught, cgroups.fraction)
        mtaken, mcancel = self.mbook.withdraw(caught, mgroups.fraction)
        for g, points in ctaken.items():
            cgroups.points[g] -= round(points * k)
        for g, points in mtaken.items():
            mgroups.points[g] -= round(points)
        self._cpts[caught], self._mpts[caught] = 0, 0  # the close's points never open
        return len(caught), held, ccancel * k + mcancel

    def open(self, cgroup: int, mgroup: int) -> None:
        """The close's ring points join the groups just opened (indices ``cgroup``, ``mgroup``)."""
        self.cbook.add_column(cgroup, self._cpts.copy())
        self.mbook.add_column(mgroup, self._mpts.copy())

    def held(self) -> Any:
        """Released to the rings and not yet cashed (fen)."""
        return sum((c.sum() + m.sum() for _, c, m in self._held), start=0)


__all__ = ["Rings", "detection_delay", "ring_stream"]
