"""Risk flags (风险提示): a registry of detectors, each with its thresholds in the policy's ``[risk]``.

Detectors run where they are cheap, never over the whole history per request:

- **on the order**: the velocity cap (``services.velocity``) refuses the order over it;
- **at close** (:func:`detect_at_close`, inside the close's transaction, over the closing
  period's rows through ``ix_orders_period``): first the period's order identifiers feed the
  shared-identifier graph (``services.rings.feed``), then ``wash_trading`` (a consumer
  connected to the merchant it buys at), ``wash_ring`` (``ring_size`` connected consumers
  buying at one merchant in a period), ``self_referral_ring`` (a consumer connected to its
  referrer), ``velocity`` bursts, ``wash_trading_suspect`` (consumers who bought only at one
  merchant), ``self_referral_suspect`` (referees who never ordered), ``refund_after_release``
  and ``circular_trading`` (merchants buying from each other through connected consumer
  accounts).

Every flag is stored once and files a case (:mod:`services.flags`). :func:`risk` (``GET
/risk``, the admin page) reads what is stored: the last close's own flags (release slower than
nominal, coverage, pool) and the stored flags of the open and last closed periods.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from gongsheng.adapters import case_store
from gongsheng.adapters import risk_queries as q
from gongsheng.adapters import tables as t
from gongsheng.domain.policy import RiskRule
from gongsheng.domain.trade_graph import circles
from gongsheng.services import rings
from gongsheng.services.books import open_period
from gongsheng.services.flags import Flag, raise_flags
from gongsheng.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Detector:
    """One kind of abuse to look for. ``stage`` is ``order`` (run by the order's use case) or
    ``close``; a close detector is ``detect(conn, period, rule) -> flags``."""

    name: str
    stage: str
    detect: Callable[[Connection, int, RiskRule], list[Flag]] | None = None


def _velocity(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("velocity", f"velocity:{period}:{c}", f"velocity:consumer:{c}", period, c,
                 f"consumer {c} placed {n} orders in period {period} "
                 f"(more than {rule.velocity_orders})", ((c, "consumer"),))
            for c, n in q.order_bursts(conn, period, rule.velocity_orders, rule.max_flags)]


def _wash_trading(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("wash_trading_suspect", f"single_merchant:{period}:{c}:{m}",
                 f"wash_trading:merchant:{m}", period, m,
                 f"consumer {c} bought only at merchant {m}, {n} times in period {period}",
                 ((m, "merchant"), (c, "consumer")))
            for c, m, n in q.single_merchant_buyers(conn, period, rule.wash_orders, rule.max_flags)]


def _self_referral(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("self_referral_suspect", f"referral_farm:{r}", f"self_referral_ring:referrer:{r}",
                 period, r, f"consumer {r} referred {n} consumers who never ordered",
                 ((r, "referrer"),))
            for r, n in q.idle_referees(conn, rule.referral_farm, rule.max_flags)]


def _refund_after_release(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("refund_after_release", f"refund_after_release:{period}:{c}",
                 f"refund_after_release:consumer:{c}", period, c,
                 f"consumer {c}: {n} refunds after release took back {v} fen of vouchers "
                 f"in period {period}", ((c, "consumer"),))
            for c, n, v in q.refunds_after_release(conn, period, rule.max_flags)]


def _circular_trading(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    flags = []
    for members in circles(q.merchant_purchases(conn, period))[:rule.max_flags]:
        names = ", ".join(map(str, members))
        flags.append(Flag("circular_trading", f"circular_trading:{period}:{names}",
                          f"circular_trading:{names}", period, members[0],
                          f"merchants {names} bought from each other in period {period} "
                          "through consumer accounts connected to them",
                          tuple((m, "merchant") for m in members)))
    return flags


DETECTORS: tuple[Detector, ...] = (
    Detector("velocity_cap", "order"),
    Detector("wash_trading", "close", rings.wash_trading),
    Detector("wash_ring", "close", rings.wash_ring),
    Detector("self_referral_ring", "close", rings.self_referral_ring),
    Detector("velocity", "close", _velocity),
    Detector("wash_trading_suspect", "close", _wash_trading),
    Detector("self_referral_suspect", "close", _self_referral),
    Detector("refund_after_release", "close", _refund_after_release),
    Detector("circular_trading", "close", _circular_trading),
)
"""Every detector, in the order they run at their stage."""


def detect_at_close(uow: UnitOfWork, period: int, rule: RiskRule) -> int:
    """Feed ``period``'s order identifiers to the graph, then run the close detectors over
    ``period`` and file their flags; how many were new."""
    rings.feed(uow.conn, period, rule)
    flags = [flag for detector in DETECTORS if detector.detect is not None
             for flag in detector.detect(uow.conn, period, rule)]
    return raise_flags(uow, flags)


def _latest_figures(conn: Connection) -> dict[str, Any]:
    row = conn.execute(select(t.periods.c.figures).where(t.periods.c.status == "closed")
                       .order_by(t.periods.c.seq.desc()).limit(1)).scalar()
    return json.loads(row) if row else {}


MAX_LISTED = 500
"""Most stored flags :func:`risk` lists."""


def risk(conn: Connection) -> dict[str, Any]:
    """Risk flags: the last close's (release, coverage, pool) and the stored flags of the open
    and last closed periods, newest first, each with its case."""
    figures = _latest_figures(conn)
    flags: list[dict[str, Any]] = [{**f, "period": figures["period"], "party_id": None,
                                    "case_id": None}
                                   for f in figures.get("risk_flags", [])]
    period = open_period(conn).seq
    since = figures.get("period", period)
    flags += [{"flag": f.detector, "period": int(f.period), "party_id": f.party_id,
               "detail": f.detail, "case_id": f.case_id}
              for f in case_store.flags_since(conn, since, MAX_LISTED)]
    return {"period": period, "last_closed": figures.get("period"), "flags": flags}
