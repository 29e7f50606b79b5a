"""The synthetic population: regions, merchants and consumers, and how they grow.

Two layers:

- :class:`Schedule` is the deterministic path of the aggregates (registered consumers, merchants
  signed per region, coverage, purchase frequency, order values) computed from the scenario
  alone. Acquisition grows registrations by ``growth.monthly`` and fades linearly to zero as
  merchant coverage goes from ``growth.fade_from`` (the seed's 80%) to 100%. Since the counts
  are deterministic, every array is allocated once, at its final size.
- :class:`Population` holds the agents as NumPy arrays (one element per simulated consumer or
  merchant) and draws their attributes with the run's generator. A simulated consumer stands
  for ``weight`` identical real consumers; a simulated merchant is one real merchant.

Invariants: ``0 <= coverage <= 1``; merchants signed in a region never exceed its universe; the
mall (自营商城) is merchant 0, outside every region; an agent index never changes once drawn;
a referrer is always an earlier consumer (one level only).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.money import ratio
from gongsheng.sim.scenario import Mode, Scenario

Arr = npt.NDArray[Any]

CH_MALL, CH_FLAGSHIP, CH_ALLIANCE = 0, 1, 2
CHANNELS = ("mall", "brand", "alliance")  # as the live engine names them


@dataclass(frozen=True)
class Schedule:
    """The aggregate path of a scenario, per period (arrays of length ``periods``)."""

    registered: Arr          # real registered consumers at the end of each period
    new_agents: Arr          # simulated consumers added in each period
    agent_weight: Arr        # real consumers per simulated consumer added in each period
    merchants: Arr           # [periods, regions] merchants signed per region (cumulative)
    universe: Arr            # merchant universe per region
    coverage: Arr            # merchants signed / universe, whole platform
    purchases: Arr           # mean purchases per active consumer per period
    value_factor: Arr        # order value multiplier (1 at the start)

    @property
    def periods(self) -> int:
        return len(self.registered)


def build_schedule(s: Scenario, mode: Mode) -> Schedule:
    """The deterministic aggregates of ``s``; ``exact`` mode rounds agent weights to integers."""
    periods, g = s.periods, s.growth
    universe = _universes(s)
    share = universe / universe.sum()
    registered = np.zeros(periods)
    merchants = np.zeros((periods, len(universe)), dtype=np.int64)
    coverage = np.zeros(periods)
    total = float(s.consumers.initial)
    for t in range(periods):
        if t > 0 and (g.stop_at == 0 or t < g.stop_at):
            total += total * g.monthly * _fade(float(coverage[t - 1]), g.fade_from)
        registered[t] = total
        target = np.floor(total * share / g.consumers_per_merchant).astype(np.int64)
        merchants[t] = np.minimum(universe, np.maximum(target, merchants[t - 1] if t else 0))
        coverage[t] = merchants[t].sum() / universe.sum()
    new_real = np.diff(registered, prepend=0.0)
    c = s.consumers
    if c.sampling == "constant":
        agents = np.rint(registered / c.scale).astype(np.int64)
        agents[0] = max(int(agents[0]), 1)
        agents = np.maximum.accumulate(agents)
        new_agents = np.diff(agents, prepend=0)
        weight = np.full(periods, float(c.scale))
    else:
        new_agents = np.where(new_real > 0, c.agents_per_cohort, 0).astype(np.int64)
        weight = np.where(new_agents > 0, new_real / np.maximum(new_agents, 1), 0.0)
    if mode == "exact":
        weight = np.maximum(np.rint(weight), 1.0)
    o = s.orders
    ramp = np.minimum(np.arange(periods) / max(o.ramp_periods - 1, 1), 1.0)
    purchases = o.purchases_start + (o.purchases_end - o.purchases_start) * ramp
    return Schedule(registered, new_agents, weight, merchants, universe, coverage, purchases,
                    1.0 + o.value_growth * ramp)


def _fade(coverage: float, fade_from: float) -> float:
    """Acquisition multiplier: 1 below the fade point, falling linearly to 0 at full coverage."""
    if coverage <= fade_from:
        return 1.0
    if fade_from >= 1.0:
        return 1.0
    return max(0.0, (1.0 - coverage) / (1.0 - fade_from))


def _universes(s: Scenario) -> Arr:
    """Merchant universe per region: the scenario's own if it names them, else lognormal sizes at
    fixed quantiles (no randomness), largest first."""
    r = s.regions
    if r.universes:
        return np.array(r.universes, np.int64)
    normal = NormalDist()
    z = np.array([normal.inv_cdf((i + 0.5) / r.count) for i in range(r.count)])
    sizes = np.exp(r.universe_sigma * z)[::-1]
    universe: Arr = np.floor(sizes / sizes.sum() * r.universe_total).astype(np.int64)
    return np.maximum(universe, 1).astype(np.int64)


class Population:
    """The agents of one run (mutable state of the engine), arrays allocated at final size.

    Consumers: ``c_region``, ``c_home`` (home merchant or -1), ``c_referrer`` (earlier consumer
    or -1), ``c_intensity`` (mean 1), ``c_weight`` (real consumers it stands for), ``c_active``,
    ``c_ordered`` (has made a first order). Merchants: ``m_region`` (-1 for the mall),
    ``m_channel``, ``m_category`` (the mall: one past the last category), ``m_rate_num/den``,
    ``m_bm`` (-1 if none) with ``m_bm_num/den`` (contract rate), ``m_promoted``, ``m_accepts``.
    """

    def __init__(self, s: Scenario, schedule: Schedule, mode: Mode, rng: np.random.Generator):
        self.s, self.schedule, self.rng = s, schedule, rng
        nc = int(schedule.new_agents.sum())
        nm = 1 + int(schedule.merchants[-1].sum())
        wtype = np.int64 if mode == "exact" else np.float64
        self.nc, self.nm = 0, 0
        self.c_region = np.zeros(nc, np.int32)
        self.c_home = np.full(nc, -1, np.int64)
        self.c_referrer = np.full(nc, -1, np.int64)
        self.c_intensity = np.ones(nc)
        self.c_weight = np.zeros(nc, wtype)
        self.c_active = np.zeros(nc, bool)
        self.c_ordered = np.zeros(nc, bool)
        self.m_region = np.full(nm, -1, np.int32)
        self.m_channel = np.full(nm, CH_ALLIANCE, np.int8)
        self.m_category = np.zeros(nm, np.int16)
        self.m_rate_num = np.ones(nm, np.int64)
        self.m_rate_den = np.ones(nm, np.int64)
        self.m_bm = np.full(nm, -1, np.int64)
        self.m_bm_num = np.zeros(nm, np.int64)
        self.m_bm_den = np.ones(nm, np.int64)
        self.m_promoted = np.zeros(nm, bool)
        self.m_accepts = np.zeros(nm, bool)
        self.r_partner = (np.array(s.regions.held, bool) if s.regions.held
                          else rng.random(len(schedule.universe)) < s.regions.partner_share)
        self.region_share = schedule.universe / schedule.universe.sum()
        self.bound_bm = 0
        self._contracts = _contract_table(s)
        self._add_mall()
        self._alliance = self.alliance_index()
        self._flagships = np.flatnonzero(self.m_channel[: self.nm] == CH_FLAGSHIP)

    @property
    def n_bms(self) -> int:
        """Business managers so far: each takes ``merchants_per_bm`` bound merchants in turn."""
        return -(-self.bound_bm // self.s.merchants.merchants_per_bm)

    def _add_mall(self) -> None:
        num, den = ratio(self.s.orders.mall_rate)
        self.m_channel[0], self.m_rate_num[0], self.m_rate_den[0] = CH_MALL, num, den
        self.m_category[0] = len(self.s.merchants.categories)  # the mall's own order values
        self.m_accepts[0] = True
        self.nm = 1

    def grow(self, t: int) -> None:
        """Sign the merchants of period ``t``, churn, then register its new consumers."""
        signed = self.nm
        self._sign_merchants(t)
        if self.nm != signed:  # a merchant's region and channel never change once signed
            self._alliance = self.alliance_index()
            self._flagships = np.flatnonzero(self.m_channel[: self.nm] == CH_FLAGSHIP)
        if t > 0 and self.s.consumers.churn > 0:
            n = self.nc
            self.c_active[:n] &= self.rng.random(n) >= self.s.consumers.churn
        self._register(t)

    def _sign_merchants(self, t: int) -> None:
        before = self.schedule.merchants[t - 1] if t else np.zeros_like(self.schedule.merchants[0])
        new = self.schedule.merchants[t] - before
        k = int(new.sum())
        if k == 0:
            return
        rng, m = self.rng, self.s.merchants
        sl = slice(self.nm, self.nm + k)
        region = np.repeat(np.arange(len(new), dtype=np.int32), new)
        cats = rng.choice(len(m.categories), size=k, p=[c.share for c in m.categories])
        self.m_region[sl], self.m_category[sl] = region, cats
        rates = [ratio(c.rate) for c in m.categories]
        self.m_rate_num[sl] = np.array([r[0] for r in rates])[cats]
        self.m_rate_den[sl] = np.array([r[1] for r in rates])[cats]
        self.m_channel[sl] = np.where(rng.random(k) < m.flagship_share, CH_FLAGSHIP, CH_ALLIANCE)
        self.m_accepts[sl] = rng.random(k) < m.voucher_opt_in
        self.m_promoted[sl] = (rng.random(k) < m.promoter_share) & self.r_partner[region]
        bound = rng.random(k) < m.bm_share
        if m.bm_contract_rates:
            pick = rng.choice(len(m.bm_contract_rates), size=k,
                              p=[p for _, p in m.bm_contract_rates])
            num, den = self._contracts[0][cats, pick], self._contracts[1][cats, pick]
            bound &= num > 0
            order = np.cumsum(bound) - 1 + self.bound_bm
            self.m_bm[sl] = np.where(bound, order // m.merchants_per_bm, -1)
            self.m_bm_num[sl], self.m_bm_den[sl] = num, den
            self.bound_bm += int(bound.sum())
        self.nm += k

    def _register(self, t: int) -> None:
        k = int(self.schedule.new_agents[t])
        if k == 0:
            return
        rng, c = self.rng, self.s.consumers
        sl = slice(self.nc, self.nc + k)
        region = rng.choice(len(self.region_share), size=k, p=self.region_share).astype(np.int32)
        self.c_region[sl] = region
        self.c_weight[sl] = self.schedule.agent_weight[t]
        self.c_active[sl] = True
        self.c_intensity[sl] = rng.gamma(c.intensity_shape, 1.0 / c.intensity_shape, size=k)
        has_home = rng.random(k) < c.home_merchant_rate
        home = self.pick_alliance(region, rng.random(k), -1)
        self.c_home[sl] = np.where(has_home, home, -1)
        if self.nc > 0:
            referred = rng.random(k) < c.referral_rate
            self.c_referrer[sl] = np.where(referred, rng.integers(0, self.nc, size=k), -1)
        self.nc += k

    def alliance_index(self) -> tuple[Arr, Arr, Arr]:
        """Alliance merchants sorted by region, with each region's start and count."""
        n = self.nm
        idx = np.flatnonzero(self.m_channel[:n] == CH_ALLIANCE)
        region = self.m_region[idx]
        if len(self.region_share) < 2**15:  # a stable sort of int16 keys is a radix sort: O(n)
            region = region.astype(np.int16)
        idx = idx[np.argsort(region, kind="stable")]
        counts = np.bincount(self.m_region[idx], minlength=len(self.region_share))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return idx, starts, counts

    def pick_alliance(self, region: Arr, u: Arr, none: int) -> Arr:
        """A uniform alliance merchant of each region (``u`` uniform in [0, 1)); ``none`` where none."""
        idx, starts, counts = self._alliance
        if len(idx) == 0:
            return np.full(len(region), none, np.int64)
        cnt = counts[region]
        pos = starts[region] + np.minimum((u * cnt).astype(np.int64), np.maximum(cnt - 1, 0))
        return np.where(cnt > 0, idx[np.minimum(pos, len(idx) - 1)], none)

    def flagship_index(self) -> Arr:
        """Flagship stores signed so far, in signing order (kept since the last signing)."""
        return self._flagships


def _contract_table(s: Scenario) -> tuple[Arr, Arr]:
    """Per (category, drawn contract rate): the highest feasible contract rate not above it.

    A contract under which the rounded waterfall parts could exceed the concession is refused when
    a merchant is signed (MODEL.md section 3, :meth:`Policy.feasible`, the live engine's check);
    the simulated BM then signs at the highest drawn rate the policy allows at that merchant's
    concession rate, or not at all (numerator 0).
    """
    cats, rates = s.merchants.categories, s.merchants.bm_contract_rates
    num = np.zeros((len(cats), max(len(rates), 1)), np.int64)
    den = np.ones_like(num)
    for i, cat in enumerate(cats):
        for j in range(len(rates)):
            feasible = [r for r, _ in rates[: j + 1]
                        if s.policy.feasible(cat.rate, r)]
            if feasible:
                num[i, j], den[i, j] = ratio(max(feasible))
    return num, den
