"""Simulator benchmarks: throughput in consumer-periods per second, peak memory, and peers.

Run: ``.venv/bin/python benchmarks/simulate.py`` (``--quick`` for small sizes). Parts:

1. one run of 1,000,000 consumers x 40 periods (fast mode), in a child process so that its peak
   RSS (``resource.getrusage``) is its own; goals: under 60 s and under 4 GB;
2. 100 Monte Carlo runs of 100,000 consumers x 40 periods on a Dask LocalCluster of two worker
   processes (this machine has two cores); goal: under 120 s;
3. the same model written the way a cadCAD user (cadCAD 0.5.3) and a Mesa user would write it,
   on a size they finish, against gongsheng at the same size; peers are optional
   (``benchmarks/requirements-peers.txt``) and skipped when they do not import.

Figures are printed; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from gongsheng.domain.money import apply_rate, ratio
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.release import (
    GroupState,
    advance,
    affordable_rate,
    nominal_rate,
    released_to_date,
)
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.sim.engine import simulate
from gongsheng.sim.montecarlo import run_ensemble
from gongsheng.sim.scenario import Mode, Scenario, load_scenario


def steady(consumers: int, periods: int = 40) -> Scenario:
    """The ``steady`` scenario with one simulated consumer per real one."""
    return load_scenario("steady").with_values({
        "consumers.initial": consumers, "consumers.scale": 1, "simulation.periods": periods})


def one_run(consumers: int, periods: int, mode: Mode) -> dict[str, Any]:
    """Time one run in this process; report seconds, throughput and this process's peak RSS."""
    s = steady(consumers, periods)
    start = time.perf_counter()
    simulate(s, np.random.default_rng(1), mode)
    seconds = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"consumers": consumers, "periods": periods, "mode": mode, "seconds": seconds,
            "consumer_periods_per_s": consumers * periods / seconds, "peak_rss_mb": rss_kb / 1024}


def child_run(consumers: int, periods: int, mode: Mode) -> dict[str, Any]:
    """:func:`one_run` in a fresh interpreter, so that the peak RSS is the run's alone."""
    out = subprocess.run([sys.executable, __file__, "--child", str(consumers), str(periods), mode],
                         check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def monte_carlo(runs: int, consumers: int, periods: int, workers: int) -> dict[str, Any]:
    """``runs`` runs on a LocalCluster of ``workers`` single-threaded processes."""
    from distributed import LocalCluster

    s = steady(consumers, periods)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50) as cluster:
        start = time.perf_counter()
        run_ensemble(s, runs, 7, "fast", cluster.scheduler_address)
        seconds = time.perf_counter() - start
    return {"runs": runs, "consumers": consumers, "periods": periods, "workers": workers,
            "seconds": seconds, "consumer_periods_per_s": runs * consumers * periods / seconds}


def line(name: str, r: dict[str, Any]) -> str:
    extra = f", peak RSS {r['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in r else ""
    return (f"{name:<46} {r['seconds']:8.2f} s  {r['consumer_periods_per_s']:>14,.0f} "
            f"consumer-periods/s{extra}")


# ---------------------------------------------------------------- the peers
# The same model (steady population, Poisson orders at the mall, the home merchant or another,
# vouchers spent on orders, the domain's waterfall per order, release groups per period, budget
# controller, per-holder settlement), written per agent in plain Python as a cadCAD user (state
# dictionaries, policy and state-update functions) and a Mesa user (Agent.step) would.

RATES = (Decimal("0.15"), Decimal("0.10"), Decimal("0.12"))


def peer_population(n: int, rng: np.random.Generator) -> tuple[list[dict[str, Any]],
                                                                 list[dict[str, Any]]]:
    """Consumers and merchants as dictionaries (merchant 0 is the mall)."""
    merchants = [{"id": 0, "rate": Decimal("0.20"), "partner": False, "promoter": False,
                  "bm": False, "accepts": True, "mall": True, "points": {}, "released": 0,
                  "balance": 0}]
    for j in range(1, max(10, n // 50) + 1):
        merchants.append({"id": j, "rate": RATES[j % 3], "partner": rng.random() < 0.8,
                          "promoter": rng.random() < 0.5, "bm": rng.random() < 0.9,
                          "accepts": rng.random() < 0.7, "mall": False, "points": {},
                          "released": 0, "balance": 0})
    consumers = [{"id": i, "intensity": float(rng.gamma(1.5, 1 / 1.5)),
                  "home": int(rng.integers(1, len(merchants))) if rng.random() < 0.6 else None,
                  "points": {}, "released": 0, "balance": 0} for i in range(n)]
    return consumers, merchants


def peer_orders(policy: Policy, consumer: dict[str, Any], merchants: list[dict[str, Any]],
                rng: np.random.Generator) -> list[dict[str, Any]]:
    """One consumer's orders of a period, with voucher parts and the domain's split."""
    out = []
    budget = consumer["balance"] // 2
    for _ in range(int(rng.poisson(3.0 * consumer["intensity"]))):
        u = rng.random()
        if u < 0.15:
            m = merchants[0]
        elif consumer["home"] is not None and rng.random() < 0.3:
            m = merchants[consumer["home"]]
        else:
            m = merchants[int(rng.integers(1, len(merchants)))]
        gross = max(100, int(6000 * np.exp(0.7 * rng.standard_normal()) + 0.5))
        share = policy.vouchers.max_share_at_mall if m["mall"] else (
            policy.vouchers.max_share_at_merchant if m["accepts"] else Decimal(0))
        voucher = min(budget, int(apply_rate(gross, share)))
        budget -= voucher
        cost = int(apply_rate(voucher, policy.vouchers.mall_cost_share)) if m["mall"] else voucher
        home = consumer["home"]
        who = Beneficiaries(1, 1 if m["partner"] else None, 1 if m["promoter"] else None,
                            1 if m["bm"] else None, home if home not in (None, m["id"]) else None)
        sp = split_order(policy, gross, m["rate"], Decimal("0.01"), who)
        out.append({"merchant": m["id"], "gross": gross, "voucher": voucher, "cost": cost,
                    "conc": sp.concession_fen, "pool": sp.pool_fen,
                    "platform": sp.paid_to(Recipient.PLATFORM)})
    return out


def peer_close(policy: Policy, groups: list[GroupState], available: int, gmv: int
               ) -> tuple[int, list[GroupState]]:
    """The period's rate (budget controller with the GMV valve) and the advanced groups."""
    budget = min(available, int(apply_rate(gmv, policy.release.max_share_of_period_gmv or 1)))
    rate = affordable_rate(groups, max(budget, 0), nominal_rate(policy.release.nominal_periods))
    return rate, [GroupState(g.start_period, g.multiple, g.points_cpts,
                             int(advance(g.fraction, rate)) if g.active else g.fraction)
                  for g in groups]


def peer_settle(holder: dict[str, Any], groups: dict[tuple[int, Decimal], GroupState],
                multiple: Decimal) -> None:
    num, den = ratio(multiple)
    total = sum(int(released_to_date(p, num, den, groups[(start, multiple)].fraction))
                for start, p in holder["points"].items() if (start, multiple) in groups)
    holder["balance"] += total - holder["released"]
    holder["released"] = total


def run_cadcad(n: int, periods: int) -> dict[str, Any]:
    """The model as cadCAD partial state update blocks over dictionaries of agents."""
    import cadCAD
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionContext, ExecutionMode, Executor

    policy = load_scenario("steady").policy
    rng = np.random.default_rng(1)
    consumers, merchants = peer_population(n, rng)
    cm, mm = policy.consumer_cap_multiple, policy.merchant_cap_multiple

    def p_orders(params: Any, substep: Any, history: Any, state: dict[str, Any]) -> dict[str, Any]:
        orders = [(c["id"], o) for c in state["consumers"]
                  for o in peer_orders(policy, c, state["merchants"], rng)]
        return {"orders": orders}

    def s_consumers(params: Any, substep: Any, history: Any, state: dict[str, Any],
                    signal: dict[str, Any]) -> tuple[str, Any]:
        consumers = state["consumers"]
        t = state["timestep"]
        for cid, o in signal["orders"]:
            c = consumers[cid]
            c["balance"] -= o["voucher"]
            c["points"][t] = c["points"].get(t, 0) + o["conc"]
        return "consumers", consumers

    def s_merchants(params: Any, substep: Any, history: Any, state: dict[str, Any],
                    signal: dict[str, Any]) -> tuple[str, Any]:
        merchants = state["merchants"]
        t = state["timestep"]
        for _, o in signal["orders"]:
            m = merchants[o["merchant"]]
            m["points"][t] = m["points"].get(t, 0) + o["conc"]
        return "merchants", merchants

    def s_pool(params: Any, substep: Any, history: Any, state: dict[str, Any],
               signal: dict[str, Any]) -> tuple[str, Any]:
        pool = dict(state["pool"])
        orders = [o for _, o in signal["orders"]]
        pool["available"] += sum(o["pool"] + o["voucher"] - o["cost"] for o in orders)
        pool["reserved"] -= sum(o["voucher"] for o in orders)
        pool["gmv"] = sum(o["gross"] for o in orders)
        return "pool", pool

    def p_close(params: Any, substep: Any, history: Any, state: dict[str, Any]) -> dict[str, Any]:
        rate, groups = peer_close(policy, state["groups"], state["pool"]["available"],
                                  state["pool"]["gmv"])
        released = sum(g.released() for g in groups) - sum(g.released() for g in state["groups"])
        return {"groups": groups, "released": released, "rate": rate}

    def s_groups(params: Any, substep: Any, history: Any, state: dict[str, Any],
                 signal: dict[str, Any]) -> tuple[str, Any]:
        t = state["timestep"]
        cpts = sum(c["points"].get(t, 0) for c in state["consumers"])
        mpts = sum(m["points"].get(t, 0) for m in state["merchants"])
        return "groups", [*signal["groups"], GroupState(t, cm, cpts, 0), GroupState(t, mm, mpts, 0)]

    def s_settle(key: str, multiple: Decimal) -> Callable[..., tuple[str, Any]]:
        def update(params: Any, substep: Any, history: Any, state: dict[str, Any],
                   signal: dict[str, Any]) -> tuple[str, Any]:
            groups = {(g.start_period, g.multiple): g for g in signal["groups"]}
            holders = state[key]
            for h in holders:
                peer_settle(h, groups, multiple)
            return key, holders
        return update

    def s_release(params: Any, substep: Any, history: Any, state: dict[str, Any],
                  signal: dict[str, Any]) -> tuple[str, Any]:
        pool = dict(state["pool"])
        pool["available"] -= signal["released"]
        pool["reserved"] += signal["released"]
        pool["rate"] = signal["rate"]
        return "pool", pool

    blocks = [
        {"policies": {"orders": p_orders},
         "variables": {"consumers": s_consumers, "merchants": s_merchants, "pool": s_pool}},
        {"policies": {"close": p_close},
         "variables": {"groups": s_groups, "pool": s_release,
                       "consumers": s_settle("consumers", cm),
                       "merchants": s_settle("merchants", mm)}},
    ]
    initial = {"consumers": consumers, "merchants": merchants, "groups": [],
               "pool": {"available": 0, "reserved": 0, "gmv": 0, "rate": 0}}
    exp = Experiment()
    exp.append_model(initial_state=initial, partial_state_update_blocks=blocks,
                     sim_configs=config_sim({"N": 1, "T": range(periods)}))
    executor = Executor(exec_context=ExecutionContext(context=ExecutionMode().single_mode),
                        configs=exp.configs)
    start = time.perf_counter()
    executor.execute()
    seconds = time.perf_counter() - start
    return {"version": getattr(cadCAD, "__version__", "0.5.3"), "seconds": seconds,
            "consumer_periods_per_s": n * periods / seconds}


def run_mesa(n: int, periods: int) -> dict[str, Any]:
    """The model as Mesa agents: each consumer's ``step`` places its orders; the model closes."""
    import mesa

    policy = load_scenario("steady").policy
    cm, mm = policy.consumer_cap_multiple, policy.merchant_cap_multiple

    class Consumer(mesa.Agent):  # type: ignore[misc]
        def __init__(self, model: Platform, data: dict[str, Any]) -> None:
            super().__init__(model)
            self.data = data

        def step(self) -> None:
            model = self.model
            for o in peer_orders(policy, self.data, model.merchants, model.gen):
                self.data["balance"] -= o["voucher"]
                pts = self.data["points"]
                pts[model.t] = pts.get(model.t, 0) + o["conc"]
                m = model.merchants[o["merchant"]]
                m["points"][model.t] = m["points"].get(model.t, 0) + o["conc"]
                model.available += o["pool"] + o["voucher"] - o["cost"]
                model.reserved -= o["voucher"]
                model.gmv += o["gross"]

    class Platform(mesa.Model):  # type: ignore[misc]
        def __init__(self, n: int) -> None:
            super().__init__(seed=1)
            self.gen = np.random.default_rng(1)
            consumers, self.merchants = peer_population(n, self.gen)
            for c in consumers:
                Consumer(self, c)
            self.groups: list[GroupState] = []
            self.available = self.reserved = self.gmv = self.t = 0

        def step(self) -> None:
            self.gmv = 0
            self.agents.shuffle_do("step")
            _, groups = peer_close(policy, self.groups, self.available, self.gmv)
            released = sum(g.released() for g in groups) - sum(g.released() for g in self.groups)
            self.available -= released
            self.reserved += released
            index = {(g.start_period, g.multiple): g for g in groups}
            for a in self.agents:
                peer_settle(a.data, index, cm)
            for m in self.merchants:
                peer_settle(m, index, mm)
            cpts = sum(a.data["points"].get(self.t, 0) for a in self.agents)
            mpts = sum(m["points"].get(self.t, 0) for m in self.merchants)
            self.groups = [*groups, GroupState(self.t, cm, cpts, 0), GroupState(self.t, mm, mpts, 0)]
            self.t += 1

    model = Platform(n)
    start = time.perf_counter()
    for _ in range(periods):
        model.step()
    seconds = time.perf_counter() - start
    return {"version": mesa.__version__, "seconds": seconds,
            "consumer_periods_per_s": n * periods / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--child", nargs=3, metavar=("CONSUMERS", "PERIODS", "MODE"))
    parser.add_argument("--peer-consumers", type=int, default=5000)
    parser.add_argument("--parts", default="big,exact,mc,peers",
                        help="comma-separated subset of: big, exact, mc, peers")
    args = parser.parse_args()
    if args.child:
        n, p, m = args.child
        print(json.dumps(one_run(int(n), int(p), "exact" if m == "exact" else "fast")))
        return
    big, mc_runs, mc_size = (20_000, 4, 10_000) if args.quick else (1_000_000, 100, 100_000)
    print(f"gongsheng simulator benchmarks (numpy {np.__version__}, 2 workers for Monte Carlo)")
    parts = set(args.parts.split(","))
    if "big" in parts:
        r = child_run(big, 40, "fast")
        print(line(f"1 run, {big:,} consumers x 40 periods, fast", r))
        print(f"    goals: < 60 s ({'met' if r['seconds'] < 60 else 'MISSED'}), "
              f"< 4096 MB ({'met' if r['peak_rss_mb'] < 4096 else 'MISSED'})")
    if "exact" in parts:
        r = child_run(min(big, 100_000), 40, "exact")
        print(line(f"1 run, {min(big, 100_000):,} consumers x 40 periods, exact", r))
    if "mc" in parts:
        r = monte_carlo(mc_runs, mc_size, 40, 2)
        print(line(f"{mc_runs} runs x {mc_size:,} consumers x 40, Dask 2 procs", r))
        print(f"    goal: < 120 s ({'met' if r['seconds'] < 120 else 'MISSED'})")
    if "peers" not in parts:
        return
    n = args.peer_consumers
    ours = {m: one_run(n, 40, m) for m in ("fast", "exact")}
    print(line(f"gongsheng, {n:,} consumers x 40, fast", ours["fast"]))
    print(line(f"gongsheng, {n:,} consumers x 40, exact", ours["exact"]))
    for name, runner in (("cadCAD 0.5.3", run_cadcad), ("Mesa", run_mesa)):
        try:
            peer = runner(n, 40)
        except ImportError as err:
            print(f"{name:<46} skipped: {err}")
            continue
        print(line(f"{name} ({peer['version']}), {n:,} consumers x 40", peer))
        for m in ("fast", "exact"):
            ratio = ours[m]["consumer_periods_per_s"] / peer["consumer_periods_per_s"]
            print(f"    gongsheng {m} / {name} at equal size: {ratio:,.0f}x")
        at_scale = child_run(min(big, 100_000), 40, "fast")
        ratio = at_scale["consumer_periods_per_s"] / peer["consumer_periods_per_s"]
        print(f"    gongsheng fast at 100,000 consumers / {name} at {n:,}: {ratio:,.0f}x")


if __name__ == "__main__":
    main()
