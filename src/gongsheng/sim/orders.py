"""One period's orders, their voucher parts and their waterfall, for the whole population at once.

- :func:`draw_orders`: each active consumer places a Poisson number of orders (its intensity
  times the period's mean); each order goes to the mall, a flagship store or an alliance merchant
  (at the home merchant with ``home_share``, else one of its region); values are lognormal fen.
  The draws never depend on the mode, so ``exact`` and ``fast`` runs of one seed see the same
  orders.
- :func:`voucher_parts`: each consumer spends up to ``spend_share`` of its voucher balance on
  its orders of the period, order by order, within each order's limit (the policy's share of
  the amount at the mall or at an opted-in merchant, nothing elsewhere). The cost to the pool is
  the face value at a merchant and the mall's cost share at the mall.
- :func:`split`: the policy's waterfall through the domain's
  :func:`~gongsheng.domain.waterfall.split_amounts`, per order in ``exact`` mode (the same fen as
  the live engine) and per (merchant, home-merchant-present) batch in ``fast`` mode.

Invariant (both modes): per order or batch, paid parts plus the pool's share equal the concession.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from gongsheng.domain.money import apply_rate, ratio
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.waterfall import concession, part_ratios, split_amounts
from gongsheng.sim.population import CH_ALLIANCE, CH_FLAGSHIP, Population
from gongsheng.sim.scenario import Mode

Arr = npt.NDArray[Any]


@dataclass(frozen=True)
class Orders:
    """A period's orders, sorted by consumer: one element per simulated order."""

    consumer: Arr
    merchant: Arr
    gross: Arr       # fen, per real order (int64)
    weight: Arr      # real orders per simulated order
    first: Arr       # index of each consumer's first order of the period (segment starts)

    def __len__(self) -> int:
        return len(self.consumer)


def draw_orders(pop: Population, t: int, rng: np.random.Generator) -> Orders:
    """Draw period ``t``'s orders (see the module docstring)."""
    s, sched, o = pop.s, pop.schedule, pop.s.orders
    active = np.flatnonzero(pop.c_active[: pop.nc])
    k = rng.poisson(sched.purchases[t] * pop.c_intensity[active])
    cons = np.repeat(active, k)
    n = len(cons)
    u = rng.random((3, n))
    channel = (u[0] >= o.mall_share).view(np.int8) + (
        u[0] >= o.mall_share + o.flagship_share).view(np.int8)  # mall 0, flagship 1, alliance 2
    merchant = np.zeros(n, np.int64)  # the mall
    alliance = np.flatnonzero(channel == CH_ALLIANCE)
    who = cons[alliance]
    home = pop.c_home[who]
    at_home = (u[2, alliance] < o.home_share) & (home >= 0)
    merchant[alliance] = np.where(at_home, home,
                                  pop.pick_alliance(pop.c_region[who], u[1, alliance], 0))
    flagships = pop.flagship_index()
    if len(flagships):
        chosen = np.flatnonzero(channel == CH_FLAGSHIP)
        merchant[chosen] = flagships[np.minimum((u[1, chosen] * len(flagships)).astype(np.int64),
                                                len(flagships) - 1)]
    medians = np.array([c.value_median_fen for c in s.merchants.categories]
                       + [o.mall_value_median_fen], float) * sched.value_factor[t]
    value = medians[pop.m_category[merchant]] * np.exp(o.value_sigma * rng.standard_normal(n))
    gross = np.maximum((value + 0.5).astype(np.int64), 100)
    ends = np.cumsum(k)
    starts = (ends - k)[k > 0]
    return Orders(cons, merchant, gross, pop.c_weight[cons], starts)


def _share_ratio(share: float) -> tuple[int, int]:
    """A behavioural share as an exact integer ratio (its shortest decimal form)."""
    return ratio(Decimal(repr(share)))


def spend_budget(balance: Arr, share: float, mode: Mode) -> Arr:
    """How much of each voucher balance is offered this period: ``floor(balance x share)``."""
    if mode == "fast":
        return balance * share
    num, den = _share_ratio(share)
    return (balance * num) // den


def voucher_parts(pop: Population, orders: Orders, balance: Arr, mode: Mode) -> tuple[Arr, Arr]:
    """Voucher part and its cost to the pool, per order (per real order, fen)."""
    policy = pop.s.policy
    vr, m, g = policy.vouchers, orders.merchant, orders.gross
    at_mall = m == 0
    accepts = pop.m_accepts[m]
    if mode == "exact":
        limit = np.where(at_mall, apply_rate(g, vr.max_share_at_mall),
                         np.where(accepts, apply_rate(g, vr.max_share_at_merchant), 0))
    else:
        share = np.where(at_mall, float(vr.max_share_at_mall),
                         np.where(accepts, float(vr.max_share_at_merchant), 0.0))
        limit = g * share
    if len(g) == 0:
        return limit, limit
    budget = spend_budget(balance, pop.s.vouchers.spend_share, mode)[orders.consumer]
    cum = np.cumsum(limit)
    before = cum - limit
    segment = np.cumsum(np.r_[True, orders.consumer[1:] != orders.consumer[:-1]]) - 1
    before = before - before[orders.first][segment]
    part = np.minimum(np.maximum(budget - before, 0), limit)
    if mode == "exact":
        cost = np.where(at_mall, apply_rate(part, vr.mall_cost_share), part)
    else:
        cost = part * np.where(at_mall, float(vr.mall_cost_share), 1.0)
    return part, cost



@dataclass(frozen=True)
class Split:
    """The waterfall of a period's orders (per order in exact mode, per batch in fast mode).

    ``merchant``, ``gross``, ``conc`` and each ``amounts[i]`` are totals over the real orders an
    element stands for (already weighted); ``paid[i]`` is 1 where part i's recipient exists.
    """

    merchant: Arr
    gross: Arr
    conc: Arr
    amounts: list[Arr]
    paid: list[Arr]
    pool: Arr


def _contract_index(policy: Policy) -> int | None:
    return next((i for i, p in enumerate(policy.waterfall) if p.is_contract), None)


def _present(pop: Population, merchant: Arr, home_present: Arr) -> list[Arr]:
    """Per waterfall part, 1 where its recipient exists for orders at ``merchant``."""
    region = pop.m_region[merchant]
    held = (region >= 0) & pop.r_partner[np.maximum(region, 0)]
    by_recipient = {
        Recipient.PLATFORM: np.ones(len(merchant), np.int64),
        Recipient.REGION_PARTNER: held.astype(np.int64),
        Recipient.SIGNING_PROMOTER: pop.m_promoted[merchant].astype(np.int64),
        Recipient.BOUND_BM: (pop.m_bm[merchant] >= 0).astype(np.int64),
        Recipient.HOME_MERCHANT: home_present.astype(np.int64),
    }
    return [by_recipient[p.recipient] for p in pop.s.policy.waterfall]


def _parts(pop: Population, merchant: Arr) -> list[tuple[Any, Any, bool]]:
    """The policy's part ratios, the contract part as per-merchant arrays."""
    parts: list[tuple[Any, Any, bool]] = list(part_ratios(pop.s.policy, Decimal(0)))
    i = _contract_index(pop.s.policy)
    if i is not None:
        parts[i] = (pop.m_bm_num[merchant], pop.m_bm_den[merchant], parts[i][2])
    return parts


def split_each(pop: Population, merchant: Arr, gross: Arr, weight: Arr, home_present: Arr) -> Split:
    """The waterfall per order, exactly (the live engine's fen), each order standing for ``weight``."""
    m, g, w = merchant, gross, weight
    conc = concession(g, pop.m_rate_num[m], pop.m_rate_den[m])
    present = _present(pop, m, home_present)
    amounts, pool = split_amounts(g, conc, _parts(pop, m), present)
    return Split(m, g * w, conc * w, [a * w for a in amounts], present, pool * w)


def split(pop: Population, orders: Orders, mode: Mode) -> Split:
    """The waterfall of the period's orders, through the domain's ``split_amounts``."""
    home = pop.c_home[orders.consumer]
    home_present = (home >= 0) & (home != orders.merchant)
    if mode == "exact":
        return split_each(pop, orders.merchant, orders.gross, orders.weight, home_present)
    key = orders.merchant * 2 + home_present
    totals = np.bincount(key, weights=orders.gross * orders.weight, minlength=2 * pop.nm)
    batch = np.flatnonzero(totals > 0)
    m, acq = batch // 2, (batch % 2).astype(bool)
    g = np.rint(totals[batch]).astype(np.int64)
    conc = concession(g, pop.m_rate_num[m], pop.m_rate_den[m])
    present = _present(pop, m, acq)
    amounts, pool = split_amounts(g, conc, _parts(pop, m), present)
    as_float = [np.asarray(a, np.float64) for a in amounts]
    return Split(m, g.astype(np.float64), np.asarray(conc, np.float64), as_float, present,
                 np.asarray(pool, np.float64))
