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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gongsheng.domain.policy import RiskRule
from gongsheng.domain.trade_graph import circles
from gongsheng.services import rings
from gongsheng.services.flags import Flag, raise_flags
from gongsheng.services.ports.work import Stores, Work


@dataclass(frozen=True)
class Detector:
    """One kind of abuse to look for. ``stage`` is ``order`` (run by the order's use case) or
    ``close``; a close detector is ``detect(stores, period, rule) -> flags``."""

    name: str
    stage: str
    detect: Callable[[Stores, int, RiskRule], list[Flag]] | None = None


def _velocity(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("velocity", f"velocity:{period}:{c}", f"velocity:consumer:{c}", period, c,
                 f"consumer {c} placed {n} orders in period {period} "
                 f"(more than {rule.velocity_orders})", ((c, "consumer"),))
            for c, n in stores.risk.order_bursts(period, rule.velocity_orders, rule.max_flags)]


def _wash_trading(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("wash_trading_suspect", f"single_merchant:{period}:{c}:{m}",
                 f"wash_trading:merchant:{m}", period, m,
                 f"consumer {c} bought only at merchant {m}, {n} times in period {period}",
                 ((m, "merchant"), (c, "consumer")))
            for c, m, n in stores.risk.single_merchant_buyers(period, rule.wash_orders, rule.max_flags)]


def _self_referral(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("self_referral_suspect", f"referral_farm:{r}", f"self_referral_ring:referrer:{r}",
                 period, r, f"consumer {r} referred {n} consumers who never ordered",
                 ((r, "referrer"),))
            for r, n in stores.risk.idle_referees(rule.referral_farm, rule.max_flags)]


def _refund_after_release(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    return [Flag("refund_after_release", f"refund_after_release:{period}:{c}",
                 f"refund_after_release:consumer:{c}", period, c,
                 f"consumer {c}: {n} refunds after release took back {v} fen of vouchers "
                 f"in period {period}", ((c, "consumer"),))
            for c, n, v in stores.risk.refunds_after_release(period, rule.max_flags)]


def _circular_trading(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    flags = []
    for members in circles(stores.risk.merchant_purchases(period))[:rule.max_flags]:
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


def detect_at_close(uow: Work, period: int, rule: RiskRule) -> int:
    """Feed ``period``'s order identifiers to the graph, then run the close detectors over
    ``period`` and file their flags; how many were new."""
    rings.feed(uow, period, rule)
    flags = [flag for detector in DETECTORS if detector.detect is not None
             for flag in detector.detect(uow, period, rule)]
    return raise_flags(uow, flags)


MAX_LISTED = 500
"""Most stored flags :func:`risk` lists."""


def risk(stores: Stores) -> dict[str, Any]:
    """Risk flags: the last close's (release, coverage, pool) and the stored flags of the open
    and last closed periods, newest first, each with its case."""
    figures = stores.risk.last_close_figures()
    flags: list[dict[str, Any]] = [{**f, "period": figures["period"], "party_id": None,
                                    "case_id": None}
                                   for f in figures.get("risk_flags", [])]
    period = stores.periods.open_period().seq
    since = figures.get("period", period)
    flags += [{"flag": f.detector, "period": int(f.period), "party_id": f.party_id,
               "detail": f.detail, "case_id": f.case_id}
              for f in stores.cases.flags_since(since, MAX_LISTED)]
    return {"period": period, "last_closed": figures.get("period"), "flags": flags}
