"""The operator's figures of a closed period (MODEL.md section 8): one shape, one definition.

:class:`PeriodFigures` is what a close stores with its period, what the API returns (its
schemas use the dataclass itself) and what reports read back. Payments are keyed by
:class:`~gongsheng.domain.policy.Recipient`, never by a part's name: renaming a part in the
policy changes no figure. :meth:`PeriodFigures.to_json` is the stored and served JSON (integer
fen, ratios as exact decimal strings); :meth:`PeriodFigures.from_json` reads it back, and
``from_json(f.to_json()) == f`` for every figures ``f``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from gongsheng.domain.errors import InvariantViolation
from gongsheng.domain.policy import Policy, Recipient
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal

TO_PREFIX = "to:"  # counters ``to:<recipient>``: what the waterfall paid it (orders, refunds apart)
PART_PREFIX = "part:"  # counters ``part:<name>``: what each part of the waterfall paid
SHARE_QUANTUM = Decimal("0.0001")


def share(num: int, den: int) -> str | None:
    """``num / den`` as a 4-decimal string (the figures' ratios); None when ``den`` is 0."""
    return None if den == 0 else str((Decimal(num) / Decimal(den)).quantize(SHARE_QUANTUM))


@dataclass(frozen=True)
class PaidByRecipient:
    """What the waterfall paid each recipient (vacant parts excluded: they went to the pool).

    One field per :class:`Recipient`, named by its value (a test holds the two together), so the
    JSON of the figures' ``paid_by_recipient_fen`` is ``{"platform": ..., "region_partner": ...}``.
    """

    platform: int = 0
    region_partner: int = 0
    signing_promoter: int = 0
    bound_bm: int = 0
    home_merchant: int = 0

    def of(self, recipient: Recipient) -> int:
        value: int = getattr(self, recipient.value)
        return value

    @property
    def incentives_fen(self) -> int:
        """Everything paid to a recipient other than the platform."""
        return sum(self.of(r) for r in Recipient if r is not Recipient.PLATFORM)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
        parts = {k.removeprefix(PART_PREFIX): (recipients.get(k.removeprefix(PART_PREFIX)), v)
                 for k, v in counters.items() if k.startswith(PART_PREFIX)}
        totals = dict.fromkeys(Recipient, 0)
        direct = {k: v for k, v in counters.items() if k.startswith(TO_PREFIX)}
        for key, value in direct.items():
            totals[Recipient(key.removeprefix(TO_PREFIX))] += value
        if not direct:
            for recipient, value in parts.values():
                if recipient is not None:
                    totals[recipient] += value
        return cls(PaidByRecipient(**{r.value: v for r, v in totals.items()}), parts)

    @property
    def incentives_by_part(self) -> dict[str, int]:
        """What each part paid to a recipient other than the platform, by part name."""
        return {name: v for name, (r, v) in self.by_part.items() if r is not Recipient.PLATFORM}


@dataclass(frozen=True)
class RegionCoverage:
    """A region's merchants signed (active to date) against its universe."""

    region_id: int
    name: str
    merchants: int
    universe: int
    coverage: str | None  # merchants / universe, 4 decimals; None when the universe is 0


@dataclass(frozen=True)
class RiskFlag:
    """A warning raised by the close (release below nominal, coverage, pool coverage, unfunded)."""

    flag: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class PeriodFigures:
    """The figures of one period as of its close. Money in fen, ratios as 4-decimal strings.

    Invariants (checked by the tests on closed books): ``platform_revenue_fen`` is
    ``paid_by_recipient_fen.platform``; ``platform_share`` + ``users_share`` is 1 when there
    was a concession; ``vouchers_outstanding_fen`` is ``pool_reserved_fen``.
    ``paid_by_recipient_fen`` is None only in figures stored before payments were kept per
    recipient.
    """

    period: int
    controller: str
    nominal_periods: int
    gmv_fen: int
    gmv_by_channel_fen: Mapping[str, int]
    orders: int
    average_order_fen: int
    registered_consumers: int
    new_consumers: int
    active_consumers: int
    purchases_per_active_consumer: str | None
    merchants: int
    merchants_by_channel: Mapping[str, int]
    regions: tuple[RegionCoverage, ...]
    concession_fen: int
    platform_revenue_fen: int
    incentives_fen: Mapping[str, int]  # by part name, parts paid to others than the platform
    paid_by_recipient_fen: PaidByRecipient | None = None
    pool_in_fen: int
    vacant_to_pool_fen: int
    vouchers_spent_fen: int
    refunds_fen: int
    payouts_fen: int
    released_fen: int
    unfunded_fen: int
    pool_available_fen: int
    pool_reserved_fen: int
    vouchers_outstanding_fen: int
    unreleased_entitlement_fen: int
    release_rate: str
    nominal_rate: str
    periods_to_complete_at_rate: int | None
    platform_share: str | None
    users_share: str | None
    risk_flags: tuple[RiskFlag, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The stored and served JSON object (keys in field order)."""
        return asdict(self, dict_factory=_json_dict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PeriodFigures:
        """Read :meth:`to_json`'s object back; unknown figures are refused, and so are missing
        ones, unless the field has a default (:class:`InvariantViolation`: stored figures that
        do not have this shape)."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        unknown, missing = set(doc) - names, required - set(doc)
        if unknown or missing:
            raise InvariantViolation(
                "stored period figures do not have the figures' shape: "
                + "; ".join(f"{what} {', '.join(sorted(keys))}" for what, keys in (
                    ("unknown", unknown), ("missing", missing)) if keys))
        values = dict(doc)
        values["gmv_by_channel_fen"] = dict(doc["gmv_by_channel_fen"])
        values["merchants_by_channel"] = dict(doc["merchants_by_channel"])
        values["incentives_fen"] = dict(doc["incentives_fen"])
        values["regions"] = tuple(RegionCoverage(**r) for r in doc["regions"])
        values["risk_flags"] = tuple(RiskFlag(**f) for f in doc.get("risk_flags", ()))
        paid = doc.get("paid_by_recipient_fen")
        values["paid_by_recipient_fen"] = None if paid is None else PaidByRecipient(**paid)
        return cls(**values)


def _json_dict(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in items}


__all__ = ["PART_PREFIX", "TO_PREFIX", "PaidByRecipient", "PaidParts", "PeriodFigures",
           "RegionCoverage", "RiskFlag", "share"]


def region_coverage(regions: list[tuple[int, str, int]],
                    lifetime: Mapping[str, int]) -> list[RegionCoverage]:
    """Every region ``(id, name, merchant universe)``'s merchants active to date (lifetime
    counters ``merchants:region:<id>``) against its universe."""
    out = []
    for rid, name, universe in regions:
        active = lifetime.get(f"merchants:region:{rid}", 0)
        out.append(RegionCoverage(rid, name, active, universe, share(active, universe)))
    return out


@dataclass(frozen=True)
class CloseInputs:
    """What a close's figures are computed from, read once at the close: the period's and the
    lifetime counters (summed over stripes), the pool's balances after the release, the regions'
    coverage and the vouchers every holding may still release."""

    counters: Mapping[str, int]
    lifetime: Mapping[str, int]
    pool_available_fen: int
    pool_reserved_fen: int
    regions: list[RegionCoverage]
    unreleased_entitlement_fen: int


def close_figures(seq: int, policy: Policy, rate: int, nominal: int, released: int,
                  unfunded: int, got: CloseInputs) -> PeriodFigures:
    """The figures of period ``seq`` as of its close (O(counters + regions), no reads)."""
    c, life = got.counters, got.lifetime
    gmv = c.get("gmv_fen", 0)
    orders = c.get("orders", 0)
    active = c.get("active_consumers", 0)
    concession = c.get("concession_fen", 0)
    paid = PaidParts.from_counters(c, policy)
    platform = paid.by_recipient.platform
    available, reserved = got.pool_available_fen, got.pool_reserved_fen
    outstanding = reserved  # the reserve always equals the vouchers released and not yet spent
    entitlement = got.unreleased_entitlement_fen
    flags = []
    if rate < nominal and entitlement > 0:
        flags.append(RiskFlag("release_below_nominal",
                              f"release rate {rate_as_decimal(rate):.6f} below nominal "
                              f"{rate_as_decimal(nominal):.6f} of cap per period"))
    for r in got.regions:
        if r.coverage is not None and Decimal(r.coverage) > policy.coverage_warning:
            flags.append(RiskFlag("coverage_above_threshold",
                                  f"region {r.name} coverage {r.coverage} above "
                                  f"{policy.coverage_warning}"))
    if outstanding > 0 and available + reserved < outstanding:
        flags.append(RiskFlag("pool_coverage_below_1",
                              f"pool {available + reserved} fen covers outstanding vouchers "
                              f"{outstanding} fen less than once"))
    if unfunded:
        flags.append(RiskFlag("unfunded_release",
                              f"{unfunded} fen released beyond what the pool held (promise)"))
    return PeriodFigures(
        period=seq, controller=policy.release.controller.value,
        nominal_periods=-(-SCALE // nominal) if nominal else 0,
        gmv_fen=gmv, gmv_by_channel_fen={k.split(":", 1)[1]: v for k, v in c.items()
                                         if k.startswith("gmv_fen:")},
        orders=orders, average_order_fen=gmv // orders if orders else 0,
        registered_consumers=life.get("consumers", 0), new_consumers=c.get("new_consumers", 0),
        active_consumers=active, purchases_per_active_consumer=share(orders, active),
        merchants=life.get("merchants", 0),
        merchants_by_channel={k.rsplit(":", 1)[1]: v for k, v in life.items()
                              if k.startswith("merchants:channel:")},
        regions=tuple(got.regions),
        concession_fen=concession, platform_revenue_fen=platform,
        incentives_fen=paid.incentives_by_part, paid_by_recipient_fen=paid.by_recipient,
        pool_in_fen=c.get("pool_in_fen", 0), vacant_to_pool_fen=c.get("vacant_to_pool_fen", 0),
        vouchers_spent_fen=c.get("vouchers_spent_fen", 0),
        refunds_fen=c.get("refunds_fen", 0), payouts_fen=c.get("payouts_fen", 0),
        released_fen=released, unfunded_fen=unfunded,
        pool_available_fen=available, pool_reserved_fen=reserved,
        vouchers_outstanding_fen=outstanding, unreleased_entitlement_fen=entitlement,
        release_rate=str(rate_as_decimal(rate)), nominal_rate=str(rate_as_decimal(nominal)),
        periods_to_complete_at_rate=periods_to_complete(0, rate),
        platform_share=share(platform, concession),
        users_share=share(concession - platform, concession),
        risk_flags=tuple(flags))
