"""The policy: every rate, cap and threshold of the platform, as one immutable, validated value.

A policy is loaded from a mapping (parsed TOML), validated, and never changed afterwards; a new
version is a new policy. Invariants a valid :class:`Policy` guarantees:

- the concession rate bounds lie within (0, 1] and every category rate within them;
- at every allowed concession rate (and every category rate) the fixed parts of the waterfall,
  each rounded half up, never exceed the concession at any order amount; a merchant's rate and
  BM contract are checked the same way, exactly, when it is signed and when its rate changes
  (the criterion: :mod:`gongsheng.domain.feasibility`);
- rewards pay on one direct relationship only (no multi-level rule: 传销 line);
- points and vouchers are neither cashable nor transferable, and consumers pay no joining fee.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from gongsheng.domain.errors import InfeasibleSplit, InvalidInput, PolicyError
from gongsheng.domain.feasibility import first_excess, rounded_parts
from gongsheng.domain.holds import MAX_HOLD_PERIODS
from gongsheng.domain.money import parse_rate


class Recipient(StrEnum):
    """Who a waterfall part is paid to; a vacant recipient's part goes to the dividend pool."""

    PLATFORM = "platform"
    REGION_PARTNER = "region_partner"
    SIGNING_PROMOTER = "signing_promoter"
    BOUND_BM = "bound_bm"
    HOME_MERCHANT = "home_merchant"


class Base(StrEnum):
    """What a waterfall part's rate applies to."""

    CONCESSION = "concession"
    ORDER = "order"


class Controller(StrEnum):
    """How the release rate of a period is set (MODEL.md section 4)."""

    BUDGET = "budget"
    PROMISE = "promise"
    SMOOTHED = "smoothed"
    FORECAST = "forecast"


class PeriodUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


#: Recipients that would pay on a relationship of a relationship: refused (multi-level pay).
MULTI_LEVEL_RECIPIENTS = frozenset(
    {"referrer_of_referrer", "upline", "team_leader", "recruiting_partner", "partner_of_partner"}
)

#: The steps ``policy check`` and the feasibility validation walk: every whole percent.
RATE_STEP = Decimal("0.01")


@dataclass(frozen=True)
class WaterfallPart:
    """One named part of the concession split. ``rate is None`` means the merchant's contract rate."""

    name: str
    recipient: Recipient
    base: Base
    rate: Decimal | None
    min_rate: Decimal = Decimal(0)
    max_rate: Decimal = Decimal(0)

    @property
    def is_contract(self) -> bool:
        return self.rate is None

    def share_of_concession(self, concession_rate: Decimal, contract_rate: Decimal) -> Decimal:
        """This part as an exact fraction of the concession at the given rates."""
        rate = contract_rate if self.rate is None else self.rate
        return rate if self.base is Base.CONCESSION else rate / concession_rate


@dataclass(frozen=True)
class ReferralRule:
    """拉新: the referrer earns ``rate`` x the newcomer's first order amount as points."""

    enabled: bool
    rate: Decimal
    levels: int = 1


@dataclass(frozen=True)
class VoucherRule:
    """抵用券 rules: the share of an order vouchers may pay, and a mall voucher's cost to the pool."""

    max_share_at_merchant: Decimal
    max_share_at_mall: Decimal
    mall_cost_share: Decimal


@dataclass(frozen=True)
class ReleaseRule:
    """动态分红: period length, controller, nominal schedule and the budget controller's valves."""

    period: PeriodUnit
    controller: Controller
    nominal_periods: int
    schedule: tuple[tuple[Decimal, int], ...]  # (min GMV growth, periods), fastest last
    smoothing: Decimal
    max_share_of_period_gmv: Decimal | None
    growth_gate: bool
    growth_gate_threshold: Decimal
    holder_spend_cap_multiple: Decimal | None

    def periods_for_growth(self, growth: Decimal | None) -> int:
        """N for a period whose GMV grew by ``growth`` (None: unknown, the nominal N)."""
        periods = self.nominal_periods
        if growth is None:
            return periods
        for threshold, n in self.schedule:
            if growth >= threshold:
                periods = min(periods, n)
        return periods


@dataclass(frozen=True)
class RiskRule:
    """Thresholds of the risk detectors (policy ``[risk]``); every count is a whole number >= 1."""

    coverage_warning: Decimal = Decimal("0.8")
    velocity_orders: int = 30
    """Orders by one consumer in one period above which a burst is flagged."""
    wash_orders: int = 8
    """Orders by one consumer at one merchant in a period (all its orders) flagged as wash trading."""
    referral_farm: int = 10
    """Referees who never ordered, per referrer, flagged as possible self-referral farming."""
    max_flags: int = 50
    """Flags each detector reports at most."""
    max_orders_per_period: int | None = None
    """Velocity cap: orders one consumer may place in one period; the order over it is refused
    (None: no cap)."""
    max_pair_orders_per_period: int | None = None
    """Velocity cap: orders one consumer may place at one merchant in one period (None: no cap)."""
    ring_size: int = 3
    """Consumers sharing instruments or devices (one component) whose orders of a period, all at
    one merchant, are flagged as a wash-trading ring."""
    detect_on_order: bool = True
    """Whether the orders' identifiers feed the shared-identifier graph and its ring detectors
    (both at the period's close, ``services.rings``)."""

    @property
    def caps_velocity(self) -> bool:
        """Whether either velocity cap is set (an order is then counted against it)."""
        return self.max_orders_per_period is not None or self.max_pair_orders_per_period is not None


@dataclass(frozen=True)
class Policy:
    """A validated policy version. Build it with :func:`policy_from_mapping`."""

    name: str
    min_rate: Decimal
    max_rate: Decimal
    default_rate: Decimal
    category_rates: Mapping[str, Decimal]
    waterfall: tuple[WaterfallPart, ...]
    points_per_yuan: Decimal
    consumer_cap_multiple: Decimal
    merchant_cap_multiple: Decimal
    referral: ReferralRule
    vouchers: VoucherRule
    release: ReleaseRule
    withdrawal_threshold_fen: int
    coverage_warning: Decimal
    risk: RiskRule = field(default_factory=RiskRule)
    hold_periods: int = 1
    """Periods cash earnings are held before they may be withdrawn (:mod:`domain.holds`)."""
    source: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def digest(self) -> str:
        """A stable hash of the policy's content: equal policies have equal digests."""
        text = json.dumps(self.source, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rate_for_category(self, category: str) -> Decimal:
        return self.category_rates.get(category, self.default_rate)

    @property
    def contract_part(self) -> WaterfallPart | None:
        """The part paid at a merchant's contract rate (the BM commission), if the policy has one."""
        return next((p for p in self.waterfall if p.is_contract), None)

    def allowed_rates(self) -> list[Decimal]:
        """Every whole-percent concession rate within the bounds, both ends included."""
        rates: list[Decimal] = []
        rate = self.min_rate
        while rate <= self.max_rate:
            rates.append(rate)
            rate += RATE_STEP
        if rates[-1] != self.max_rate:
            rates.append(self.max_rate)
        return rates

    def named_share(self, concession_rate: Decimal, contract_rate: Decimal) -> Decimal:
        """The exact share of the concession the named parts take (the pool gets 1 minus this)."""
        return sum(
            (p.share_of_concession(concession_rate, contract_rate) for p in self.waterfall),
            Decimal(0),
        )

    def shares(self, concession_rate: Decimal, contract_rate: Decimal | None
               ) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
        """The parts' exact rates: ``(of the concession, of the order)``; no contract part if None."""
        conc: list[Fraction] = []
        order: list[Fraction] = []
        for part in self.waterfall:
            rate = contract_rate if part.rate is None else part.rate
            if rate is not None:
                (order if part.base is Base.ORDER else conc).append(Fraction(rate))
        return tuple(conc), tuple(order)

    def first_excess(self, concession_rate: Decimal, contract_rate: Decimal | None) -> int | None:
        """The least order amount (fen) whose rounded parts exceed its concession; None: never."""
        conc, order = self.shares(concession_rate, contract_rate)
        return first_excess(Fraction(concession_rate), conc, order)

    def feasible(self, concession_rate: Decimal, contract_rate: Decimal | None) -> bool:
        """Whether no order amount makes the rounded parts exceed the concession at these rates."""
        return self.first_excess(concession_rate, contract_rate) is None

    def _refuse_excess(self, concession_rate: Decimal, contract_rate: Decimal | None,
                       what: str) -> None:
        amount = self.first_excess(concession_rate, contract_rate)
        if amount is None:
            return
        share = self.named_share(concession_rate, contract_rate or Decimal(0))
        conc, order = self.shares(concession_rate, contract_rate)
        c, paid = rounded_parts(amount, Fraction(concession_rate), conc, order)
        exact = "more than all of it" if share > 1 else "but rounded half up they exceed it"
        why = (f"take {share:.4f} of the concession ({exact}): an order of {amount} fen "
               f"concedes {c} fen and its parts are {paid} fen")
        raise InfeasibleSplit(f"at concession rate {concession_rate} {what} {why}")

    def check_concession_rate(self, rate: Decimal) -> None:
        """Refuse a concession rate outside the bounds or at which the fixed parts can overpay."""
        if not self.min_rate <= rate <= self.max_rate:
            raise InvalidInput(
                f"concession rate {rate} is outside the allowed range "
                f"[{self.min_rate}, {self.max_rate}]"
            )
        self._refuse_excess(rate, None, "the waterfall parts")

    def check_contract(self, concession_rate: Decimal, contract_rate: Decimal) -> None:
        """Refuse a merchant contract under which some order's rounded parts exceed its concession."""
        self.check_concession_rate(concession_rate)
        part = self.contract_part
        if part is not None and not part.min_rate <= contract_rate <= part.max_rate:
            raise InvalidInput(
                f"{part.name} contract rate {contract_rate} is outside "
                f"[{part.min_rate}, {part.max_rate}]"
            )
        self._refuse_excess(concession_rate, contract_rate,
                            f"a {contract_rate} contract rate makes the waterfall parts")


def _rate(section: Mapping[str, Any], key: str, where: str) -> Decimal:
    if key not in section:
        raise PolicyError(f"policy: {where}.{key} is missing")
    value = section[key]
    if isinstance(value, float):
        raise PolicyError(f"policy: {where}.{key} must be a quoted decimal string, not {value!r}")
    try:
        rate = parse_rate(value, name=f"{where}.{key}")
    except InvalidInput as err:
        raise PolicyError(f"policy: {err.detail}") from None
    if rate < 0:
        raise PolicyError(f"policy: {where}.{key} must not be negative ({rate})")
    return rate


def _optional_rate(section: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    value = section.get(key, "")
    if value in ("", False, None):
        return None
    return _rate(section, key, where)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise PolicyError(f"policy: section [{key}] is missing")
    return value


def _int(section: Mapping[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = section.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise PolicyError(f"policy: {where}.{key} must be an integer >= {minimum}, not {value!r}")
    return value


def _enum(kind: type[StrEnum], value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise PolicyError(f"policy: {where} is {value!r}; allowed: {allowed}") from None


def _waterfall_part(raw: Mapping[str, Any], index: int) -> WaterfallPart:
    where = f"waterfall[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"policy: {where} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyError(f"policy: {where}.name is missing")
    where = f"waterfall part {name!r}"
    recipient_name = raw.get("recipient")
    levels = _int(raw, "levels", where, 0) if "levels" in raw else 1
    if recipient_name in MULTI_LEVEL_RECIPIENTS or levels != 1:
        raise PolicyError(
            f"policy: {where} pays on a relationship of a relationship; rewards may pay on one "
            "direct relationship only (multi-level pay is refused)"
        )
    recipient = _enum(Recipient, recipient_name, f"{where}.recipient")
    base = _enum(Base, raw.get("base"), f"{where}.base")
    if raw.get("rate") == "contract":
        lo, hi = _rate(raw, "min_rate", where), _rate(raw, "max_rate", where)
        if not 0 <= lo <= hi <= 1:
            raise PolicyError(f"policy: {where} contract bounds must satisfy 0 <= min <= max <= 1")
        return WaterfallPart(name, recipient, base, None, lo, hi)
    rate = _rate(raw, "rate", where)
    if rate > 1:
        raise PolicyError(f"policy: {where}.rate {rate} exceeds 1")
    return WaterfallPart(name, recipient, base, rate)


def _release(raw: Mapping[str, Any]) -> ReleaseRule:
    where = "release"
    schedule: list[tuple[Decimal, int]] = []
    for i, step in enumerate(raw.get("schedule", [])):
        if not isinstance(step, Mapping):
            raise PolicyError(f"policy: release.schedule[{i}] must be a table")
        schedule.append(
            (_rate(step, "min_gmv_growth", f"release.schedule[{i}]"),
             _int(step, "periods", f"release.schedule[{i}]", 1))
        )
    smoothing = _rate(raw, "smoothing", where) if "smoothing" in raw else Decimal("0.5")
    if not 0 < smoothing <= 1:
        raise PolicyError("policy: release.smoothing must lie in (0, 1]")
    return ReleaseRule(
        period=_enum(PeriodUnit, raw.get("period", "month"), "release.period"),
        controller=_enum(Controller, raw.get("controller", "budget"), "release.controller"),
        nominal_periods=_int(raw, "nominal_periods", where, 1),
        schedule=tuple(sorted(schedule)),
        smoothing=smoothing,
        max_share_of_period_gmv=_optional_rate(raw, "max_share_of_period_gmv", where),
        growth_gate=bool(raw.get("growth_gate", False)),
        growth_gate_threshold=_optional_rate(raw, "growth_gate_threshold", where) or Decimal(0),
        holder_spend_cap_multiple=_optional_rate(raw, "holder_spend_cap_multiple", where),
    )


def _refuse_cashable(section: Mapping[str, Any], what: str) -> None:
    for key in ("cashable", "transferable"):
        if section.get(key, False):
            raise PolicyError(
                f"policy: {what} must not be {key}: points and vouchers are never paid out as "
                "cash nor moved between holders"
            )


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Validate a parsed policy file and build the :class:`Policy`; raise :class:`PolicyError`.

    A value of the wrong shape anywhere (a number where a table or list belongs, a list where a
    name belongs) is reported as a :class:`PolicyError` too, never as a crash.
    """
    if not isinstance(data, Mapping):
        raise PolicyError("policy: the file must be a TOML table of sections")
    try:
        return _build_policy(data)
    except (TypeError, AttributeError, KeyError, ValueError) as err:
        raise PolicyError(f"policy: a setting has the wrong type or shape ({err})") from None


def _risk(raw: Any) -> RiskRule:
    """The ``[risk]`` table; absent keys take :class:`RiskRule`'s defaults."""
    if raw is None:
        return RiskRule()
    if not isinstance(raw, Mapping):
        raise PolicyError("policy: [risk] must be a table")
    known = {"coverage_warning", "velocity_orders", "wash_orders", "referral_farm", "max_flags",
             "max_orders_per_period", "max_pair_orders_per_period", "ring_size",
             "detect_on_order"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PolicyError(f"policy: [risk] has unknown settings: {', '.join(unknown)}")
    default = RiskRule()
    counts: dict[str, int] = {
        k: _int(raw, k, "risk", minimum=1) if k in raw else getattr(default, k)
        for k in ("velocity_orders", "wash_orders", "referral_farm", "max_flags", "ring_size")}
    caps: dict[str, int | None] = {
        k: _int(raw, k, "risk", minimum=1) if k in raw else None
        for k in ("max_orders_per_period", "max_pair_orders_per_period")}
    warning = (_rate(raw, "coverage_warning", "risk") if "coverage_warning" in raw
               else default.coverage_warning)
    detect = raw.get("detect_on_order", default.detect_on_order)
    if not isinstance(detect, bool):
        raise PolicyError(f"policy: risk.detect_on_order must be true or false, not {detect!r}")
    return RiskRule(coverage_warning=warning, detect_on_order=detect,
                    max_orders_per_period=caps["max_orders_per_period"],
                    max_pair_orders_per_period=caps["max_pair_orders_per_period"], **counts)


def _hold_periods(payouts: Mapping[str, Any]) -> int:
    """``payouts.hold_periods``: 0 (no hold) to :data:`MAX_HOLD_PERIODS`; 1 when absent."""
    if "hold_periods" not in payouts:
        return 1
    value = _int(payouts, "hold_periods", "payouts")
    if value > MAX_HOLD_PERIODS:
        raise PolicyError(f"policy: payouts.hold_periods must be at most {MAX_HOLD_PERIODS}, "
                          f"not {value}")
    return value


def _build_policy(data: Mapping[str, Any]) -> Policy:
    conc = _section(data, "concession")
    risk = _risk(data.get("risk"))
    min_rate, max_rate = _rate(conc, "min_rate", "concession"), _rate(conc, "max_rate", "concession")
    if not 0 < min_rate <= max_rate <= 1:
        raise PolicyError("policy: concession rates must satisfy 0 < min_rate <= max_rate <= 1")
    default_rate = _rate(conc, "default_rate", "concession")
    categories = {
        str(k): _rate(conc.get("category_rates", {}), k, "concession.category_rates")
        for k in conc.get("category_rates", {})
    }
    for cat, rate in [("default_rate", default_rate), *categories.items()]:
        if not min_rate <= rate <= max_rate:
            raise PolicyError(f"policy: concession rate for {cat} ({rate}) is outside the bounds")
    raw_parts = data.get("waterfall", [])
    if not isinstance(raw_parts, list):
        raise PolicyError("policy: [[waterfall]] must be a list of parts")
    parts = tuple(_waterfall_part(p, i) for i, p in enumerate(raw_parts))
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise PolicyError("policy: waterfall part names must be unique")
    if sum(1 for p in parts if p.is_contract) > 1:
        raise PolicyError("policy: at most one waterfall part may use the contract rate")
    pts = _section(data, "points")
    _refuse_cashable(pts, "points")
    ref = _section(data, "referral")
    levels = _int(ref, "levels", "referral", 0) if "levels" in ref else 1
    if levels > 1:
        raise PolicyError(
            "policy: referral.levels must be 1: rewards pay on one direct relationship only "
            "(a reward on a referral's referral is multi-level pay)"
        )
    vch = _section(data, "vouchers")
    _refuse_cashable(vch, "vouchers")
    voucher_rule = VoucherRule(
        _rate(vch, "max_share_at_merchant", "vouchers"),
        _rate(vch, "max_share_at_mall", "vouchers"),
        _rate(vch, "mall_cost_share", "vouchers"),
    )
    if max(voucher_rule.max_share_at_merchant, voucher_rule.max_share_at_mall,
           voucher_rule.mall_cost_share) > 1:
        raise PolicyError("policy: voucher shares must not exceed 1")
    compliance = data.get("compliance", {})
    if not isinstance(compliance, Mapping):
        raise PolicyError("policy: [compliance] must be a table")
    fee = compliance.get("consumer_join_fee_fen", 0)
    if fee:
        raise PolicyError("policy: consumers must pay no fee to join or upgrade (compliance)")
    policy = Policy(
        name=str(data.get("name", "unnamed")),
        min_rate=min_rate,
        max_rate=max_rate,
        default_rate=default_rate,
        category_rates=categories,
        waterfall=parts,
        points_per_yuan=_rate(pts, "per_yuan_of_concession", "points"),
        consumer_cap_multiple=_rate(pts, "consumer_cap_multiple", "points"),
        merchant_cap_multiple=_rate(pts, "merchant_cap_multiple", "points"),
        referral=ReferralRule(bool(ref.get("enabled", True)), _rate(ref, "rate", "referral"), 1),
        vouchers=voucher_rule,
        release=_release(_section(data, "release")),
        withdrawal_threshold_fen=_int(_section(data, "payouts"), "withdrawal_threshold_fen",
                                      "payouts"),
        hold_periods=_hold_periods(_section(data, "payouts")),
        coverage_warning=risk.coverage_warning,
        risk=risk,
        source=copy.deepcopy(dict(data)),  # a snapshot: the digest must not follow the caller
    )
    fixed = [p for p in parts if not p.is_contract]
    for rate in sorted({*policy.allowed_rates(), default_rate, *categories.values()}):
        amount = policy.first_excess(rate, None)
        if amount is not None:
            share = policy.named_share(rate, Decimal(0))
            worst = max(fixed, key=lambda p: p.share_of_concession(rate, Decimal(0)), default=None)
            raise InfeasibleSplit(
                f"policy: at concession rate {rate} the waterfall parts take {share:.4f} of the "
                f"concession and, rounded half up, exceed it on an order of {amount} fen "
                f"(largest part: {worst.name if worst else '-'})"
            )
    return policy
