"""The simulator's per-order waterfall is the domain's ``split_order``, element by element."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.policy import Recipient
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.sim import orders as sim_orders
from gongsheng.sim.engine import Engine
from gongsheng.sim.scenario import Scenario

from .sim_scenarios import tiny


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_exact_split_equals_split_order(seed: int) -> None:
    s: Scenario = tiny(**{"simulation.periods": 3})
    engine = Engine(s, np.random.default_rng(seed), "exact")
    engine.period(0)
    engine.period(1)
    pop = engine.pop
    o = sim_orders.draw_orders(pop, 2, engine.rng)
    sp = sim_orders.split(pop, o, "exact")
    policy = s.policy
    for i in range(min(len(o), 60)):
        m, c = int(o.merchant[i]), int(o.consumer[i])
        rate = Decimal(int(pop.m_rate_num[m])) / Decimal(int(pop.m_rate_den[m]))
        contract = Decimal(int(pop.m_bm_num[m])) / Decimal(int(pop.m_bm_den[m]))
        region = int(pop.m_region[m])
        home = int(pop.c_home[c])
        who = Beneficiaries(
            platform=1,
            region_partner=1 if region >= 0 and pop.r_partner[region] else None,
            signing_promoter=1 if pop.m_promoted[m] else None,
            bound_bm=1 if pop.m_bm[m] >= 0 else None,
            home_merchant=1 if home >= 0 and home != m else None,
        )
        expected = split_order(policy, int(o.gross[i]), rate, contract, who)
        w = int(o.weight[i])
        assert int(sp.conc[i]) == expected.concession_fen * w
        assert int(sp.pool[i]) == expected.pool_fen * w
        for part, amount, here in zip(expected.allocations, sp.amounts, sp.paid, strict=True):
            assert int(amount[i] * here[i]) == (0 if part.vacant else part.amount_fen) * w
        assert expected.paid_to(Recipient.PLATFORM) * w == int(sp.amounts[0][i])
