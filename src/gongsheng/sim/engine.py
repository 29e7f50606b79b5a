"""The period loop: a scenario run forward, vectorised over consumers and merchants.

Each period ``t`` (a month by default):

1. the population grows (merchants signed, churn, newcomers registered);
2. active consumers place orders (:func:`~gongsheng.sim.orders.draw_orders`), spending vouchers
   on them; merchants spend a share of their vouchers at the mall;
3. every order's concession goes down the waterfall; consumer, merchant and referrer earn points;
   the pool receives its share and the margin on vouchers spent at the mall (MODEL.md section 3,
   the legs of :func:`gongsheng.domain.orders.order_legs`);
4. the period closes: the policy's controller picks one release rate over the release groups
   (``budget``: what the pool can pay within the valves; ``promise``: 1/N whatever the pool
   holds; ``smoothed``: from the previous rate toward 1/N by the policy's smoothing weight, never
   above what the pool can pay; ``forecast``: the highest rate the pool could go on paying over
   the low band of its inflow (:mod:`gongsheng.sim.inflow`); the live close's own choice,
   :func:`gongsheng.domain.release.choose_rate`),
   every group advances, holders are settled from the cumulative fractions, and the points
   earned in ``t`` open the groups that first release in ``t + 1``.

Pool accounting (invariant, per period): ``available + reserved`` changes by the pool inflow
plus the voucher margin minus the cost of vouchers spent; under ``budget`` and ``smoothed``
``available >= 0``; ``reserved`` is the vouchers outstanding (released, not yet spent), of
which the release rounding remainder is not yet credited to any holder.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.money import apply_rate, split_pro_rata
from gongsheng.domain.policy import Controller, Recipient
from gongsheng.domain.release import (
    FORECAST_HORIZON,
    SCALE,
    GroupState,
    Outlook,
    choose_rate,
    periods_to_complete,
)
from gongsheng.domain.waterfall import concession
from gongsheng.sim.figures import RunResult, empty_figures
from gongsheng.sim.holdings import Groups, HolderBook
from gongsheng.sim.inflow import outlook
from gongsheng.sim.orders import Split, draw_orders, spend_budget, split, voucher_parts
from gongsheng.sim.population import CH_ALLIANCE, CH_FLAGSHIP, Population, build_schedule
from gongsheng.sim.rings import Rings
from gongsheng.sim.scenario import Mode, Scenario
from gongsheng.sim.start import StartState

Arr = npt.NDArray[Any]


def group_sum(keys: Arr, values: Arr, size: int) -> Arr:
    """Sum of ``values`` per key in ``[0, size)``; exact for int64 values (float sums only when safe)."""
    if values.dtype.kind == "f":
        return np.bincount(keys, weights=values, minlength=size)
    if len(values) == 0 or int(np.abs(values).sum()) < 2**53:
        return np.rint(np.bincount(keys, weights=values, minlength=size)).astype(np.int64)
    out = np.zeros(size, np.int64)
    np.add.at(out, keys, values)
    return out


def _scalar(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (exact mode keeps Python ints)."""
    return value.item() if isinstance(value, np.generic) else value


def _total(values: Arr) -> int | float:
    return int(values.sum()) if values.dtype.kind in "iu" else float(values.sum())


class Engine:
    """One run of a scenario in a mode, drawing everything from ``rng``."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator, mode: Mode | None = None,
                 seed: int = 0, keep_orders: bool = False, start: StartState | None = None) -> None:
        self.s, self.rng, self.seed = scenario, rng, seed
        #: with ``keep_orders``, per period ``(consumer, merchant, gross, voucher)`` arrays: the
        #: order bodies to replay through the live engine (one real order per element).
        self.orders: list[tuple[Arr, Arr, Arr, Arr]] | None = [] if keep_orders else None
        self.mode: Mode = mode or scenario.mode
        self.schedule = build_schedule(scenario, self.mode)
        self.pop = Population(scenario, self.schedule, self.mode, rng)
        p = scenario.policy
        self.cgroups, self.mgroups = Groups(p.consumer_cap_multiple), Groups(p.merchant_cap_multiple)
        self.cbook = HolderBook(len(self.pop.c_weight), p.consumer_cap_multiple, self.mode)
        self.mbook = HolderBook(len(self.pop.m_region), p.merchant_cap_multiple, self.mode)
        #: wash-trading rings (``[abuse]``): their own books and random stream; none when the
        #: scenario's share is 0, and then every figure is the plain scenario's
        self.rings = Rings(scenario.abuse, p, self.pop, self.mode, rng, seed)
        self.available: int | float = 0
        self.reserved: int | float = 0
        self.posted: int | float = 0      # group-level release to date
        self.settled: int | float = 0     # credited to holders to date
        self.rate = 0
        self.previous: int | None = None
        self.prev_gmv: int | float = 0
        self.completed_at: list[int] = []
        self.f = empty_figures(scenario.periods)
        self.year = min(12, scenario.periods)
        n_bm = len(self.pop.m_region) // scenario.merchants.merchants_per_bm + 2
        self.partner_div = np.zeros(len(self.pop.r_partner))
        self.partner_team = np.zeros(len(self.pop.r_partner))
        self.bm_income = np.zeros(n_bm)
        #: the exact rate of every period closed, and the pool's net inflow of every period
        #: (after the start state's history): what the forecast's completion bands and the
        #: ``forecast`` controller read.
        self.rates: list[int] = []
        self.inflows: list[int] = []
        self._after_close: int | float = 0
        self._pending: tuple[GroupState, ...] = ()
        self._ring_cost: int | float = 0
        self._start: StartState | None = None
        if start is not None:
            self._start_from(start)

    def _start_from(self, start: StartState) -> None:
        """Begin from the books (:class:`~gongsheng.sim.start.StartState`) instead of from zero.

        The groups, the pool and the history are set here; the holders' points and vouchers once
        period 0's agents exist (:meth:`_spread_start`), since consumers' are spread by their
        purchase intensity.
        """
        for g in start.started():
            for groups in (self.cgroups, self.mgroups):
                if g.multiple != groups.multiple:
                    continue
                groups.add(g.start_period - start.period, g.points_cpts)
                groups.fraction[-1] = np.int64(g.fraction)
                if groups is self.cgroups:
                    self.completed_at.append(-1)
        self._start = start
        self.available, self.reserved = start.pool_available_fen, start.pool_reserved_fen
        self._after_close = start.pool_available_fen
        self.prev_gmv = start.last_gmv_fen
        self.previous = start.last_rate
        self.inflows = list(start.inflow_history_fen)
        self._pending = tuple(GroupState(g.start_period - start.period, g.multiple, g.points_cpts, 0)
                              for g in start.pending())

    def _spread_start(self, start: StartState) -> None:
        """Give the books' holdings and vouchers to the agents present at period 0.

        Merchants' are shared evenly. Consumers' are shared in proportion to each agent's
        purchase intensity (its expected orders per period): points and vouchers are earned by
        buying, so those who buy most hold most, and they are the ones whose orders can take
        vouchers. Totals are kept (exact mode: integer shares, the rounding left in the pool).
        """
        n0, w0 = max(self.pop.nc, 1), float(self.schedule.agent_weight[0])
        m0 = 1 + int(self.schedule.merchants[0].sum())
        exact = self.mode == "exact"
        intensity = self.pop.c_intensity[:n0]
        weights = [int(x) for x in np.rint(intensity * 1e6)] if exact else []

        def consumers(total: int) -> Arr:
            if exact:
                return np.array(split_pro_rata(total // int(w0), weights), np.int64)
            return np.asarray(intensity * (total / (intensity.sum() * w0)), np.float64)

        def merchants(total: int) -> int | float:
            return total // m0 if exact else total / m0

        for book, groups, count in ((self.cbook, self.cgroups, n0), (self.mbook, self.mgroups, m0)):
            for index, points in enumerate(groups.points):
                if book is self.mbook:
                    book.add_cohort(index, merchants(points), count)
                elif exact:
                    book.add_column(index, consumers(points))
                else:
                    book.add_cohort(index, points / (n0 * w0), count)
        if self.cgroups.points and not exact:
            self.cbook.weigh_cohorts(intensity * (n0 / intensity.sum()))
        self.cbook.mark_settled(self.cgroups.fraction)  # released before: in the balances below
        self.mbook.mark_settled(self.mgroups.fraction)
        self.cbook.balance[:n0] = consumers(max(start.consumer_vouchers_fen, 0))
        self.mbook.balance[:m0] = merchants(max(start.merchant_vouchers_fen, 0))

    def run(self, on_period: Callable[[int], None] | None = None) -> RunResult:
        """Run every period of the scenario; return its :class:`RunResult`."""
        for t in range(self.s.periods):
            self.period(t)
            if on_period is not None:
                on_period(t)
        return RunResult(
            scenario=self.s.name, mode=self.mode, seed=self.seed, figures=self.f,
            completion=self._completion(), partner_dividend=self.partner_div[self.pop.r_partner],
            partner_team=self.partner_team[self.pop.r_partner],
            bm_income=self.bm_income[: max(self.pop.n_bms, 1)], year_periods=self.year,
        )

    # ------------------------------------------------------------------ one period

    def period(self, t: int) -> None:
        pop, f, mode = self.pop, self.f, self.mode
        pop.grow(t)
        if t == 0 and self._start is not None:
            self._spread_start(self._start)
        orders = draw_orders(pop, t, self.rng)
        nc, nm = pop.nc, pop.nm
        vpart, vcost = voucher_parts(pop, orders, self.cbook.balance[:nc], mode)
        self.cbook.balance[:nc] -= group_sum(orders.consumer, vpart, nc) if len(orders) else 0
        if self.orders is not None:
            self.orders.append((orders.consumer, orders.merchant, orders.gross, vpart))
        sp = split(pop, orders, mode)
        wash = self.rings.orders(t)
        w = orders.weight
        gmv = _total(sp.gross) + _total(wash.gross)
        conc = _total(sp.conc) + _total(wash.conc)
        inflow = _total(sp.pool) + _total(wash.pool)
        spent, cost = _total(vpart * w), _total(vcost * w)
        mspent_h = spend_budget(self.mbook.balance, self.s.vouchers.merchant_spend_share, mode)
        self.mbook.balance -= mspent_h
        mcost_h = (apply_rate(mspent_h, self.s.policy.vouchers.mall_cost_share) if mode == "exact"
                   else mspent_h * float(self.s.policy.vouchers.mall_cost_share))
        mspent, mcost = _total(mspent_h), _total(np.asarray(mcost_h))
        self.available += inflow + (spent - cost) + (mspent - mcost)
        self.reserved -= spent + mspent
        f["vacant_to_pool"][t] = 0
        self._incentives(t, sp, f)
        self._incentives(t, wash, f)
        cpts, mpts, rpts = self._points(orders, sp)
        f["abuse_rings"][t] = int(self.rings.active.sum())
        f["abuse_gmv"][t], f["abuse_concession"][t] = _total(wash.gross), _total(wash.conc)
        f["abuse_pool_inflow"][t] = _total(wash.pool)
        f["abuse_points"][t] = sum(self.rings.points())
        growth = self._growth(gmv)
        posted = self._close(t, gmv, growth)
        self._open_groups(t, cpts, mpts)
        f["unreleased"][t] = self.cgroups.unreleased() + self.mgroups.unreleased()
        active = orders.consumer[orders.first]  # sorted by consumer: one per segment
        real_active = _total(pop.c_weight[active])
        chan = pop.m_channel[:nm]
        f["gmv"][t], f["orders"][t] = gmv, _total(w)
        f["aov"][t] = gmv / f["orders"][t] if f["orders"][t] else np.nan
        f["registered"][t] = _total(pop.c_weight[:nc])
        f["active"][t] = real_active
        f["purchases_per_active"][t] = f["orders"][t] / real_active if real_active else np.nan
        f["merchants"][t] = nm - 1
        f["merchants_brand"][t] = int((chan == CH_FLAGSHIP).sum())
        f["merchants_alliance"][t] = int((chan == CH_ALLIANCE).sum())
        f["coverage"][t] = self.schedule.coverage[t]
        f["mall_gmv"][t] = _total(sp.gross[sp.merchant == 0])
        f["concession"][t] = conc
        f["pool_inflow"][t] = inflow
        f["vouchers_spent"][t] = spent + mspent + f["abuse_cashed"][t]
        f["voucher_cost"][t] = cost + mcost + self._ring_cost
        f["points_issued"][t] = cpts + mpts + rpts
        f["referral_points"][t] = rpts
        f["users_share"][t] = 1 - f["platform_revenue"][t] / conc if conc else np.nan
        f["funded_by_new"][t] = min(1.0, inflow / posted) if posted > 0 else np.nan
        self.prev_gmv = gmv

    def _incentives(self, t: int, sp: Split, f: dict[str, Arr]) -> None:
        """Each waterfall part's total, and the partner, team and BM earnings of the last year."""
        figure = {Recipient.PLATFORM: "platform_revenue", Recipient.REGION_PARTNER: "partner_dividend",
                  Recipient.SIGNING_PROMOTER: "ground_commission", Recipient.BOUND_BM: "bm_commission",
                  Recipient.HOME_MERCHANT: "acquisition_reward"}
        vacant = 0.0
        in_year = t >= self.s.periods - self.year
        region = self.pop.m_region[sp.merchant]
        for part, amount, here in zip(self.s.policy.waterfall, sp.amounts, sp.paid, strict=True):
            paid = amount * here
            key = figure[part.recipient]
            f[key][t] = (0 if np.isnan(f[key][t]) else f[key][t]) + _total(paid)
            vacant += _total(amount) - _total(paid)
            if not in_year:
                continue
            if part.recipient is Recipient.REGION_PARTNER:
                self.partner_div += group_sum(np.maximum(region, 0), paid, len(self.partner_div))
            elif part.recipient is Recipient.SIGNING_PROMOTER:
                self.partner_team += group_sum(np.maximum(region, 0), paid, len(self.partner_team))
            elif part.recipient is Recipient.BOUND_BM:
                bm = np.maximum(self.pop.m_bm[sp.merchant], 0)
                self.bm_income += group_sum(bm, paid, len(self.bm_income))
        f["vacant_to_pool"][t] += vacant

    def _points(self, orders: Any, sp: Split) -> tuple[int | float, int | float, int | float]:
        """Points of the period per holder (consumer, merchant, referrer), kept for the new groups."""
        pop, mode, policy = self.pop, self.mode, self.s.policy
        nc, nm = pop.nc, pop.nm
        m, g = orders.merchant, orders.gross
        if mode == "exact":
            pts_order = apply_rate(_order_concession(pop, m, g), policy.points_per_yuan)
            mpts = group_sum(m, pts_order * orders.weight, nm)
        else:
            rate = pop.m_rate_num[m] / pop.m_rate_den[m]
            pts_order = g * rate * float(policy.points_per_yuan)
            mpts = group_sum(sp.merchant, sp.conc * float(policy.points_per_yuan), nm)
        cpts = group_sum(orders.consumer, pts_order, nc) if len(orders) else np.zeros(nc)
        rpts_total: int | float = 0
        if len(orders) and policy.referral.enabled:
            first = orders.first
            who = orders.consumer[first]
            referrer = pop.c_referrer[who]
            new = (~pop.c_ordered[who]) & (referrer >= 0)
            who, referrer, gross = who[new], referrer[new], g[first][new]
            if mode == "exact":
                ref = apply_rate(gross, policy.referral.rate)
                ref = ref * pop.c_weight[who] // pop.c_weight[referrer]
            else:
                ref = gross * float(policy.referral.rate) * pop.c_weight[who] / pop.c_weight[referrer]
            cpts = cpts + group_sum(referrer, ref, nc)
            rpts_total = _total(ref * pop.c_weight[referrer])
            pop.c_ordered[orders.consumer[first]] = True
        self._cpts, self._mpts = cpts, mpts
        ctotal = _total(cpts * pop.c_weight[:nc]) - rpts_total
        return ctotal, _total(mpts), rpts_total

    def _growth(self, gmv: int | float) -> Decimal | None:
        if not self.prev_gmv:
            return None
        return Decimal(repr(gmv)) / Decimal(repr(self.prev_gmv)) - 1

    # ------------------------------------------------------------------ the close

    def _close(self, t: int, gmv: int | float, growth: Decimal | None) -> int:
        """Pick the period's rate, advance the groups, settle holders; return the release posted."""
        rule, f = self.s.policy.release, self.f
        states = self.cgroups.states() + self.mgroups.states()
        available = self.available if isinstance(self.available, int) else int(np.floor(self.available))
        self.inflows.append(int(available - np.floor(self._after_close)))
        ahead = self._outlook(t) if rule.controller is Controller.FORECAST else None
        before = self.available + self.reserved  # the pool before the release: what it holds
        f["pool_coverage_before_close"][t] = before / self.reserved if self.reserved > 0 else np.nan
        rate, nominal = choose_rate(rule, states, available, int(gmv), growth, self.previous,
                                    force=True, period=t, outlook=ahead)
        posted = self.cgroups.advance(rate) + self.mgroups.advance(rate)
        self.rate = self.previous = rate
        self.rates.append(rate)
        unfunded = max(0, posted - max(available, 0))
        self.available -= posted
        self.reserved += posted
        self.posted += posted
        nc = self.pop.nc
        inc_c = self.cbook.settle(self.cgroups.fraction)
        inc_m = self.mbook.settle(self.mgroups.fraction)
        self.settled += _total(inc_c[:nc] * self.pop.c_weight[:nc]) + _total(inc_m)
        self._abuse_close(t)
        self._after_close = self.available
        for g, frac in enumerate(self.cgroups.fraction):
            if frac >= SCALE and self.completed_at[g] < 0:
                self.completed_at[g] = t
        outstanding = self.reserved  # released, not yet spent (the remainder included), as live
        f["release"][t], f["release_rate"][t] = posted, rate / SCALE
        f["nominal_rate"][t] = nominal / SCALE
        left = periods_to_complete(0, rate)
        f["periods_at_rate"][t] = np.nan if left is None else left
        f["pool_available"][t], f["pool_reserved"][t] = self.available, self.reserved
        f["vouchers_outstanding"][t] = outstanding
        f["rounding_remainder"][t] = self.posted - self.settled
        pool = self.available + self.reserved
        f["pool_coverage"][t] = pool / outstanding if outstanding > 0 else np.nan
        f["unfunded"][t] = unfunded
        f["pool_deficit"][t] = max(0.0, -float(self.available))
        active = any(g.active for g in states)
        f["flag_slow_release"][t] = float(active and rate < nominal)
        f["flag_coverage"][t] = float(self.schedule.coverage[t] > float(self.s.policy.coverage_warning))
        f["flag_pool_short"][t] = float(outstanding > 0 and pool < outstanding)
        return posted

    def _abuse_close(self, t: int) -> None:
        """The rings' part of the close: credit and hold their release, cash what is due, detect."""
        f, rings = self.f, self.rings
        credited = _scalar(rings.settle(t, self.cgroups.fraction, self.mgroups.fraction)[0])
        self.settled += credited
        face, cost = (_scalar(x) for x in rings.cash(t))
        self.reserved -= face
        self.available += face - cost
        self._ring_cost = cost
        caught, held, cancelled = (_scalar(x) for x in rings.detect(t, self.cgroups, self.mgroups))
        self.reserved -= held
        self.available += held
        f["abuse_released"][t], f["abuse_cashed"][t] = credited, face
        f["abuse_detected"][t], f["abuse_forfeited_held"][t] = caught, held
        f["abuse_forfeited_unreleased"][t] = cancelled
        f["abuse_held"][t] = rings.held()
        f["abuse_rings_signed"][t] = rings.count

    def _outlook(self, t: int) -> Outlook | None:
        """What the ``forecast`` controller sees when closing ``t``: the inflow's low band, the
        points of ``t`` (starting in ``t + 1``) and the points projected after them."""
        cw = self.pop.c_weight[: self.pop.nc]
        pending = [GroupState(t + 1, self.cgroups.multiple, round(_total(self._cpts * cw)), 0),
                   GroupState(t + 1, self.mgroups.multiple, round(_total(self._mpts[: self.pop.nm])), 0)]
        if t == 0:
            pending += list(self._pending)
        return outlook(self.inflows[:-1], FORECAST_HORIZON, t, pending)

    def _open_groups(self, t: int, cpts_total: int | float, mpts_total: int | float) -> None:
        """The points earned in ``t`` open one group per multiple, first releasing in ``t + 1``."""
        nc, nm = self.pop.nc, self.pop.nm
        cw = self.pop.c_weight[:nc]
        cpts, mpts = self._cpts, self._mpts
        extra = {g.multiple: g.points_cpts for g in self._pending} if t == 0 else {}
        ring_c, ring_m = self.rings.points()
        self.cgroups.add(t + 1, round(_total(cpts * cw)) + extra.pop(self.cgroups.multiple, 0)
                         + ring_c)
        self.mgroups.add(t + 1, round(_total(mpts[:nm])) + extra.pop(self.mgroups.multiple, 0)
                         + ring_m)
        self.cbook.add_column(len(self.cgroups.start) - 1, np.asarray(cpts[:nc]))
        self.mbook.add_column(len(self.mgroups.start) - 1, np.asarray(mpts[:nm]))
        self.rings.open(len(self.cgroups.start) - 1, len(self.mgroups.start) - 1)
        self.completed_at.append(-1)

    def _completion(self) -> Arr:
        """Release periods each start period's holding needs (actual, or projected at the last rate)."""
        last = self.s.periods - 1
        out = np.full(len(self.cgroups.start), np.nan)
        for g, start in enumerate(self.cgroups.start):
            if self.completed_at[g] >= 0:
                out[g] = self.completed_at[g] - start + 1
                continue
            elapsed = max(0, last - start + 1)
            left = periods_to_complete(int(self.cgroups.fraction[g]), self.rate)
            out[g] = np.inf if left is None else elapsed + left
        return out


def _order_concession(pop: Population, merchant: Arr, gross: Arr) -> Arr:
    """C = round_half_up(G x r) per order, with the merchant's rate (the domain's rule)."""
    return np.asarray(concession(gross, pop.m_rate_num[merchant], pop.m_rate_den[merchant]))


def simulate(scenario: Scenario, rng: np.random.Generator, mode: Mode | None = None,
             seed: int = 0, on_period: Callable[[int], None] | None = None) -> RunResult:
    """Run ``scenario`` once with ``rng`` (the only source of randomness) in ``mode``."""
    return Engine(scenario, rng, mode, seed).run(on_period)


__all__ = ["Engine", "group_sum", "simulate"]
