"""Risk flags (风险提示): a registry of detectors, each with its thresholds in the policy's ``[risk]``.

A detector is a named function of the books, the open period and the policy's
:class:`~gongsheng.domain.policy.RiskRule` that returns flags (``flag``, ``period``,
``party_id``, ``detail``); :data:`DETECTORS` lists them, as ``verification.CHECKS`` lists the
books' invariants. Each reads through an index and reports at most ``max_flags`` flags. The
last close's own flags (release slower than nominal, coverage, pool) come first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from gongsheng.adapters import risk_queries as q
from gongsheng.adapters import tables as t
from gongsheng.domain.policy import RiskRule
from gongsheng.services.books import current_policy

Flag = dict[str, Any]


@dataclass(frozen=True)
class Detector:
    """One kind of abuse to look for: ``detect(conn, period, rule) -> flags``."""

    name: str
    detect: Callable[[Connection, int, RiskRule], list[Flag]]


def _flag(name: str, period: int, party: int, detail: str) -> Flag:
    return {"flag": name, "period": period, "party_id": party, "detail": detail}


def _velocity(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [_flag("velocity", period, c,
                  f"consumer {c} placed {n} orders this period (more than {rule.velocity_orders})")
            for c, n in q.order_bursts(conn, period, rule.velocity_orders, rule.max_flags)]


def _wash_trading(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [_flag("wash_trading_suspect", period, m,
                  f"consumer {c} bought only at merchant {m}, {n} times this period")
            for c, m, n in q.single_merchant_buyers(conn, period, rule.wash_orders, rule.max_flags)]


def _self_referral(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [_flag("self_referral_suspect", period, r,
                  f"consumer {r} referred {n} consumers who never ordered")
            for r, n in q.idle_referees(conn, rule.referral_farm, rule.max_flags)]


def _refund_after_release(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [_flag("refund_after_release", period, c,
                  f"consumer {c}: {n} refunds after release took back {v} fen of vouchers")
            for c, n, v in q.refunds_after_release(conn, period - 1, rule.max_flags)]


DETECTORS: tuple[Detector, ...] = (
    Detector("velocity", _velocity),
    Detector("wash_trading_suspect", _wash_trading),
    Detector("self_referral_suspect", _self_referral),
    Detector("refund_after_release", _refund_after_release),
)
"""Every detector the risk report runs, in order."""


def _latest_figures(conn: Connection) -> dict[str, Any]:
    row = conn.execute(select(t.periods.c.figures).where(t.periods.c.status == "closed")
                       .order_by(t.periods.c.seq.desc()).limit(1)).scalar()
    return json.loads(row) if row else {}


def risk(conn: Connection) -> dict[str, Any]:
    """Risk flags: the last close's (release, coverage, pool) and abuse seen in the open period."""
    figures = _latest_figures(conn)
    flags: list[Flag] = [{**f, "period": figures["period"], "party_id": None}
                         for f in figures.get("risk_flags", [])]
    period, policy = current_policy(conn)
    for detector in DETECTORS:
        flags += detector.detect(conn, period.seq, policy.risk)
    return {"period": period.seq, "last_closed": figures.get("period"), "flags": flags}
