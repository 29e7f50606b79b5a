"""A small scenario replayed through the live engine gives the simulator's exact figures, to the fen.

The simulator runs in exact mode and keeps its order bodies; the same parties (regions, partners
and their promoters, business managers, merchants, consumers with referrer and home merchant)
are registered in a fresh SQLite database, the orders are placed with their voucher parts, every
period is closed, and each period's figures are compared.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gongsheng.domain.release import rate_as_decimal
from gongsheng.sim.engine import Engine
from gongsheng.sim.population import CH_ALLIANCE, CH_MALL
from gongsheng.sim.scenario import load_scenario
from gongsheng.views.verification import verify

services = pytest.importorskip("gongsheng.services.platform")
registry = pytest.importorskip("gongsheng.services.registry")
ordering = pytest.importorskip("gongsheng.services.ordering")

SMALL = {
    "simulation.periods": 12, "consumers.initial": 25, "consumers.scale": 1,
    "growth.monthly": 0.3, "growth.consumers_per_merchant": 4, "regions.count": 3,
    "regions.universe_total": 40, "vouchers.merchant_spend_share": 0.0,
    "vouchers.spend_share": 0.8, "orders.purchases_start": 3.0,
}
CHANNEL = {CH_MALL: "mall", CH_ALLIANCE: "alliance"}


def _rate(num: Any, den: Any) -> str:
    return str(Decimal(int(num)) / Decimal(int(den)))


@pytest.mark.parametrize("controller", ["budget", "smoothed"])
def test_live_engine_replays_the_simulation(tmp_path: Path, controller: str) -> None:
    s = load_scenario("seed-claims").with_values({**SMALL, "policy.release.controller": controller})
    engine = Engine(s, np.random.default_rng(2024), "exact", keep_orders=True)
    engine.run()
    pop, sched, f = engine.pop, engine.schedule, engine.f
    assert engine.orders is not None
    live = services.Platform.open(f"sqlite:///{tmp_path / 'live.db'}", policy=s.policy)
    region, promoter, bm, merchant, consumer = {}, {}, {}, {}, {}
    for r in range(len(pop.r_partner)):
        region[r] = live.region(f"region {r}", merchant_universe=int(sched.universe[r]))
        if pop.r_partner[r]:
            partner = live.partner(f"partner {r}", region[r], 0)
            promoter[r] = live.promoter(f"promoter {r}", partner)
    region[-1] = live.region("mall")
    signed = registered = 0
    new_agents = np.cumsum(sched.new_agents)
    for t in range(s.periods):
        for j in range(signed, 1 + int(sched.merchants[t].sum())):
            b = int(pop.m_bm[j])
            if b >= 0 and b not in bm:
                bm[b] = live.business_manager(f"bm {b}")
            reg = int(pop.m_region[j])
            merchant[j] = live.merchant(registry.MerchantTerms(
                name=f"merchant {j}", category="replay",
                channel=CHANNEL.get(int(pop.m_channel[j]), "brand"), region_id=region[reg],
                concession_rate=_rate(pop.m_rate_num[j], pop.m_rate_den[j]),
                accepts_vouchers=bool(pop.m_accepts[j]),
                bm_id=bm.get(b), bm_rate=_rate(pop.m_bm_num[j], pop.m_bm_den[j]) if b >= 0 else None,
                promoter_id=promoter.get(reg) if pop.m_promoted[j] else None))
            signed = j + 1
        for i in range(registered, int(new_agents[t])):
            ref, home = int(pop.c_referrer[i]), int(pop.c_home[i])
            consumer[i] = live.consumer(f"consumer {i}", consumer.get(ref) if ref >= 0 else None,
                                        merchant.get(home) if home >= 0 else None)
            registered = i + 1
        for k, (c, m, g, v) in enumerate(zip(*engine.orders[t], strict=True)):
            code = live.pay_code(consumer[int(c)], int(v)).code if v else None
            live.order(ordering.OrderRequest(consumer[int(c)], merchant[int(m)], int(g), int(v),
                                             idempotency_key=f"order-{t}-{k}", pay_code=code))
        closed = live.close_period()
        got = closed.figures
        assert got.gmv_fen == f["gmv"][t], t
        assert got.concession_fen == f["concession"][t], t
        assert got.platform_revenue_fen == f["platform_revenue"][t], t
        assert got.vouchers_spent_fen == f["vouchers_spent"][t], t
        assert Decimal(closed.release_rate) == rate_as_decimal(round(f["release_rate"][t] * 10**18)) \
            or abs(float(closed.release_rate) - f["release_rate"][t]) < 1e-15, t
        assert closed.released_fen == f["release"][t], t
        assert closed.pool_available_fen == f["pool_available"][t], t
        assert closed.pool_reserved_fen == f["pool_reserved"][t], t
        assert got.unreleased_entitlement_fen == f["unreleased"][t], t
    assert all(check.ok for check in verify(live))
    assert f["flag_slow_release"].max() == 1.0  # the budget bound: the test covers the solve
