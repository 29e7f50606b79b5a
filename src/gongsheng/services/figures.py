"""The operator's figures of a period (MODEL.md section 8), computed at close from counters.

Every figure is read from striped counters, balances and release groups: O(counters + groups),
never a scan of orders or holders. The figures are stored with the closed period, so reports and
charts read them without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import system_balance
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.money import ratio
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal, released_to_date
from gongsheng.services.books import LIFETIME, counters


def _ratio(num: int, den: int) -> str | None:
    return None if den == 0 else str((Decimal(num) / Decimal(den)).quantize(Decimal("0.0001")))


TO_PREFIX = "to:"  # counters ``to:<recipient>``: what the waterfall paid it (orders, refunds apart)


@dataclass(frozen=True)
class PaidByRecipient:
    """What the waterfall paid each recipient (vacant parts excluded: they went to the pool).

    Keyed by :class:`Recipient`, never by a part's name, so renaming a part changes no figure.
    One field per recipient (``<recipient>_fen``); the figures' ``paid_by_recipient_fen`` is
    :meth:`as_dict`, one key per :class:`Recipient` value.
    """

    platform_fen: int = 0
    region_partner_fen: int = 0
    signing_promoter_fen: int = 0
    bound_bm_fen: int = 0
    home_merchant_fen: int = 0

    def of(self, recipient: Recipient) -> int:
        value: int = getattr(self, f"{recipient.value}_fen")
        return value

    @property
    def incentives_fen(self) -> int:
        """Everything paid to a recipient other than the platform."""
        return sum(self.of(r) for r in Recipient if r is not Recipient.PLATFORM)

    def as_dict(self) -> dict[str, int]:
        return {f.name.removesuffix("_fen"): getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PaidParts:
    """A period's waterfall payments: per recipient, and per part name (for the pages)."""

    by_recipient: PaidByRecipient
    by_part: Mapping[str, tuple[Recipient | None, int]]  # recipient None: not in the policy

    @classmethod
    def from_counters(cls, counters: Mapping[str, int], policy: Policy | None = None) -> PaidParts:
        """Read the ``to:<recipient>`` counters (the recipient is parsed exactly, never guessed).

        ``part:<name>`` counters name each part; the policy's waterfall tells its recipient.
        Counters written before ``to:`` existed are attributed through the policy too.
        """
        recipients = {p.name: p.recipient for p in policy.waterfall} if policy else {}
        parts = {k.removeprefix("part:"): (recipients.get(k.removeprefix("part:")), v)
                 for k, v in counters.items() if k.startswith("part:")}
        totals = dict.fromkeys(Recipient, 0)
        direct = {k: v for k, v in counters.items() if k.startswith(TO_PREFIX)}
        for key, value in direct.items():
            totals[Recipient(key.removeprefix(TO_PREFIX))] += value
        if not direct:
            for recipient, value in parts.values():
                if recipient is not None:
                    totals[recipient] += value
        return cls(PaidByRecipient(**{f"{r.value}_fen": v for r, v in totals.items()}), parts)

    @property
    def incentives_by_part(self) -> dict[str, int]:
        """What each part paid to a recipient other than the platform, by part name."""
        return {name: v for name, (r, v) in self.by_part.items() if r is not Recipient.PLATFORM}


def unreleased_entitlement(conn: Connection) -> int:
    """Vouchers every holding may still release: sum over groups of cap - released (O(groups))."""
    gp, rg = t.group_points, t.release_groups
    totals = (select(gp.c.start_period, gp.c.multiple, func.sum(gp.c.points_cpts).label("pts"))
              .group_by(gp.c.start_period, gp.c.multiple).subquery())
    rows = conn.execute(
        select(totals.c.multiple, totals.c.pts, func.coalesce(rg.c.fraction, 0))
        .select_from(totals.outerjoin(rg, (rg.c.start_period == totals.c.start_period)
                                      & (rg.c.multiple == totals.c.multiple)))).all()
    out = 0
    for multiple, pts, fraction in rows:
        num, den = ratio(Decimal(multiple))
        out += int(released_to_date(int(pts), num, den, SCALE)) - int(
            released_to_date(int(pts), num, den, int(fraction)))
    return out


def coverage_by_region(conn: Connection, lifetime: dict[str, int]) -> list[dict[str, Any]]:
    rows = conn.execute(select(t.regions.c.id, t.regions.c.name, t.regions.c.merchant_universe)).all()
    out = []
    for rid, name, universe in rows:
        active = lifetime.get(f"merchants:region:{rid}", 0)
        out.append({"region_id": int(rid), "name": name, "merchants": active,
                    "universe": int(universe), "coverage": _ratio(active, int(universe))})
    return out


def period_figures(conn: Connection, seq: int, policy: Policy, rate: int, nominal: int,
                   released: int, unfunded: int) -> dict[str, Any]:
    """The figures of period ``seq`` as of its close."""
    c = counters(conn, seq)
    life = counters(conn, LIFETIME)
    gmv = c.get("gmv_fen", 0)
    orders = c.get("orders", 0)
    active = c.get("active_consumers", 0)
    concession = c.get("concession_fen", 0)
    paid = PaidParts.from_counters(c, policy)
    platform = paid.by_recipient.platform_fen
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    reserved = system_balance(conn, AccountKind.POOL_RESERVED)
    outstanding = reserved  # the reserve always equals the vouchers released and not yet spent
    regions = coverage_by_region(conn, life)
    flags = []
    if rate < nominal and unreleased_entitlement(conn) > 0:
        flags.append({"flag": "release_below_nominal",
                      "detail": f"release rate {rate_as_decimal(rate):.6f} below nominal "
                                f"{rate_as_decimal(nominal):.6f} of cap per period"})
    for r in regions:
        if r["coverage"] is not None and Decimal(r["coverage"]) > policy.coverage_warning:
            flags.append({"flag": "coverage_above_threshold",
                          "detail": f"region {r['name']} coverage {r['coverage']} above "
                                    f"{policy.coverage_warning}"})
    if outstanding > 0 and available + reserved < outstanding:
        flags.append({"flag": "pool_coverage_below_1",
                      "detail": f"pool {available + reserved} fen covers outstanding vouchers "
                                f"{outstanding} fen less than once"})
    if unfunded:
        flags.append({"flag": "unfunded_release",
                      "detail": f"{unfunded} fen released beyond what the pool held (promise)"})
    return {
        "period": seq, "controller": policy.release.controller.value,
        "nominal_periods": -(-SCALE // nominal) if nominal else 0,
        "gmv_fen": gmv, "gmv_by_channel_fen": {k.split(":", 1)[1]: v for k, v in c.items()
                                               if k.startswith("gmv_fen:")},
        "orders": orders, "average_order_fen": gmv // orders if orders else 0,
        "registered_consumers": life.get("consumers", 0), "new_consumers": c.get("new_consumers", 0),
        "active_consumers": active, "purchases_per_active_consumer": _ratio(orders, active),
        "merchants": life.get("merchants", 0),
        "merchants_by_channel": {k.rsplit(":", 1)[1]: v for k, v in life.items()
                                 if k.startswith("merchants:channel:")},
        "regions": regions,
        "concession_fen": concession, "platform_revenue_fen": platform,
        "incentives_fen": paid.incentives_by_part,
        "paid_by_recipient_fen": paid.by_recipient.as_dict(),
        "pool_in_fen": c.get("pool_in_fen", 0), "vacant_to_pool_fen": c.get("vacant_to_pool_fen", 0),
        "vouchers_spent_fen": c.get("vouchers_spent_fen", 0),
        "refunds_fen": c.get("refunds_fen", 0), "payouts_fen": c.get("payouts_fen", 0),
        "released_fen": released, "unfunded_fen": unfunded,
        "pool_available_fen": available, "pool_reserved_fen": reserved,
        "vouchers_outstanding_fen": outstanding,
        "unreleased_entitlement_fen": unreleased_entitlement(conn),
        "release_rate": str(rate_as_decimal(rate)), "nominal_rate": str(rate_as_decimal(nominal)),
        "periods_to_complete_at_rate": periods_to_complete(0, rate),
        "platform_share": _ratio(platform, concession),
        "users_share": _ratio(concession - platform, concession),
        "risk_flags": flags,
    }
