"""Scenario files (情景): a policy plus the population and behaviour the simulator runs forward.

A scenario is a TOML file (see ``scenarios/*.toml`` for the built-ins, every key commented).
It is parsed into a :class:`Scenario`, a tree of frozen dataclasses. Invariants a valid
scenario guarantees:

- shares and probabilities lie in [0, 1]; counts and periods are positive where they must be;
- the channel mix leaves a non-negative share for alliance merchants (异业联盟);
- every concession rate (category or mall) lies within the policy's bounds, and every BM
  contract rate is feasible at the rate of at least one category (the engine lowers a drawn
  contract rate to the highest feasible one at a merchant's own rate);
- ``raw`` keeps the parsed mapping, so :meth:`Scenario.with_values` can rebuild a variant for a
  sweep from dotted paths (``growth.monthly``, ``policy.release.controller``).

Behaviour parameters (growth, shares, purchase counts) are floats: they describe people, not
money. Concession rates stay exact decimal strings, since they are money rules.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.money import parse_rate
from gongsheng.domain.policy import Controller, Policy, policy_from_mapping

Mode = Literal["exact", "fast"]
MODES: tuple[Mode, ...] = ("exact", "fast")
BUILTINS = ("seed-claims", "steady", "saturation", "stop", "abuse")


class ScenarioError(InvalidInput):
    """A scenario file, or a sweep value, that cannot be simulated."""

    title = "Invalid scenario"


@dataclass(frozen=True)
class Consumers:
    """消费者: the registered population, how it is sampled, and who brought each one in."""

    initial: int                 # registered (real) consumers in period 0
    scale: int                   # real consumers per simulated consumer (sampling "constant")
    sampling: Literal["constant", "cohort"]
    agents_per_cohort: int       # simulated consumers per period (sampling "cohort")
    churn: float                 # share of active consumers lost per period
    intensity_shape: float       # gamma shape of the purchase-intensity spread (mean 1)
    home_merchant_rate: float    # share of newcomers with a home merchant (brought in by it)
    referral_rate: float         # share of newcomers referred by an existing consumer


@dataclass(frozen=True)
class Growth:
    """Acquisition: constant monthly growth of registrations, fading past a coverage point."""

    monthly: float               # growth of registered consumers per period
    stop_at: int                 # first period without newcomers (0: never)
    fade_from: float             # merchant coverage from which acquisition fades (seed: 0.8)
    consumers_per_merchant: float  # merchants signed follow consumers, up to each universe


@dataclass(frozen=True)
class Regions:
    """区域: count, merchant universes (lognormal sizes) and partner holding.

    ``universes`` and ``held``, when given (the forecast gives the books' regions), fix each
    region's merchant universe and whether a partner holds it instead of drawing them: one entry
    per region, ``count`` of them, ``universe_total`` their sum.
    """

    count: int
    universe_total: int
    universe_sigma: float
    partner_share: float
    universes: tuple[int, ...] = ()
    held: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Category:
    """A merchant category: share of merchants, concession rate, typical order value."""

    name: str
    share: float
    rate: Decimal
    value_median_fen: int


@dataclass(frozen=True)
class Merchants:
    """商家: categories, channel, voucher opt-in and the roles bound to them."""

    categories: tuple[Category, ...]
    flagship_share: float        # share of signed merchants that are brand flagship stores
    voucher_opt_in: float        # share of merchants that accept vouchers
    promoter_share: float        # share signed by a partner's ground promoter (in a held region)
    bm_share: float              # share bound to a business manager
    merchants_per_bm: int
    bm_contract_rates: tuple[tuple[Decimal, float], ...]  # (rate, probability)


@dataclass(frozen=True)
class Orders:
    """Purchasing behaviour: frequency ramp (seed 2.3 -> 3.8), order values, channel mix."""

    purchases_start: float
    purchases_end: float
    ramp_periods: int
    value_sigma: float
    value_growth: float          # order value uplift reached at the end of the ramp (seed +40%)
    mall_share: float            # share of orders at the self-operated mall 自营商城
    flagship_share: float        # share at brand flagship stores 品牌旗舰店
    home_share: float            # share of alliance orders placed at the home merchant
    mall_rate: Decimal           # the mall's concession rate
    mall_value_median_fen: int


@dataclass(frozen=True)
class VoucherUse:
    """How much of a voucher balance is spent per period, by consumers and by merchants."""

    spend_share: float
    merchant_spend_share: float


@dataclass(frozen=True)
class Abuse:
    """刷单 (wash trading): merchants buying from themselves through fake consumer accounts.

    A ring is one alliance merchant that accepts vouchers (drawn with ``merchant_share``, from
    its own random stream, so the honest population's draws are the same with or without rings)
    and its ``fake_consumers`` accounts; each account places one order of ``spend_fen`` at the
    ring's merchant every period from the merchant's signing until the ring is detected. The ring
    pays the concession, earns consumer points (5x) and merchant points (2.25x) on it, and cashes
    what its holdings release ``hold_periods`` periods after the release (spent at its own
    merchant, the pool reimbursing the merchant; the merchant side's vouchers at the mall). Each
    period an active ring is detected with probability ``detection_rate``; a detected ring stops
    and forfeits what is still held and its unreleased entitlement (both stay in the pool); the
    concessions it paid stay where the waterfall sent them. With ``merchant_share = 0`` the run
    is the plain scenario's, figure for figure.

    ``study_holds``, ``study_detection_rates``, ``study_controllers`` (empty: the policy's own)
    and ``study_runs``: the grid of the abuse study (:mod:`gongsheng.sim.abuse`) the report runs
    when ``merchant_share > 0``.
    """

    merchant_share: float
    fake_consumers: int
    spend_fen: int
    hold_periods: int
    detection_rate: float
    study_holds: tuple[int, ...]
    study_detection_rates: tuple[float, ...]
    study_runs: int
    study_controllers: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.merchant_share > 0


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_mapping`."""

    name: str
    description: str
    periods: int
    runs: int
    seed: int
    mode: Mode
    policy: Policy
    consumers: Consumers
    growth: Growth
    regions: Regions
    merchants: Merchants
    orders: Orders
    vouchers: VoucherUse
    abuse: Abuse
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    base_dir: Path | None = field(default=None, repr=False, compare=False)

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """This scenario with dotted-path values replaced (``policy.*`` edits the policy)."""
        raw = copy.deepcopy(dict(self.raw))
        for path, value in values.items():
            set_path(raw, path, value)
        return scenario_from_mapping(raw, self.base_dir)


def set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path of a scenario mapping, coercing it to the existing type.

    ``scenario.`` may prefix a path; ``policy.`` paths are kept as policy overrides (they need
    not exist in the scenario file, the policy file provides them).
    """
    keys = path.removeprefix("scenario.").split(".")
    if not all(keys):
        raise ScenarioError(f"bad parameter path {path!r}")
    node = raw
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"parameter path {path!r} goes through a value, not a table")
        node = child
    last = keys[-1]
    known = last in node or keys[0] == "policy" or (
        len(keys) == 2 and last in PARAMETERS.get(keys[0], ()))
    if not known:
        raise ScenarioError(f"unknown scenario parameter {path!r}")
    node[last] = coerce(value, node.get(last))


#: Every parameter a scenario file may set, by section (a sweep may set one the file omits).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "simulation": ("periods", "runs", "seed", "mode"),
    "consumers": ("initial", "scale", "sampling", "agents_per_cohort", "churn", "intensity_shape",
                  "home_merchant_rate", "referral_rate"),
    "growth": ("monthly", "stop_at", "fade_from", "consumers_per_merchant"),
    "regions": ("count", "universe_total", "universe_sigma", "partner_share", "universes", "held"),
    "merchants": ("flagship_share", "voucher_opt_in", "promoter_share", "bm_share",
                  "merchants_per_bm", "bm_contract_rates", "categories"),
    "orders": ("purchases_start", "purchases_end", "ramp_periods", "value_sigma", "value_growth",
               "mall_share", "flagship_share", "home_share", "mall_rate", "mall_value_median_yuan"),
    "vouchers": ("spend_share", "merchant_spend_share"),
    "abuse": ("merchant_share", "fake_consumers_per_merchant", "spend_per_period_yuan",
              "hold_periods", "detection_rate", "study_holds", "study_detection_rates",
              "study_runs", "study_controllers"),
}


def coerce(value: Any, like: Any) -> Any:
    """A sweep value (often text from the command line) in the type of the value it replaces."""
    if not isinstance(value, str) or like is None or isinstance(like, str):
        return value
    try:
        if isinstance(like, bool):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
    except ValueError:
        raise ScenarioError(f"{value!r} is not a {type(like).__name__}") from None
    return value


# ---------------------------------------------------------------- parsing helpers


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ScenarioError(f"scenario: [{key}] must be a table")
    return value


def _num(t: Mapping[str, Any], key: str, where: str, default: float | None = None,
         lo: float = 0.0, hi: float | None = None) -> float:
    value = t.get(key, default)
    if value is None:
        raise ScenarioError(f"scenario: {where}.{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ScenarioError(f"scenario: {where}.{key} must be a number, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ScenarioError(f"scenario: {where}.{key} must be a number, not {value!r}") from None
    if number < lo or (hi is not None and number > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ScenarioError(f"scenario: {where}.{key} = {number} must lie in {bound}")
    return number


def _share(t: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    return _num(t, key, where, default, 0.0, 1.0)


def _int(t: Mapping[str, Any], key: str, where: str, default: int | None = None,
         lo: int = 0) -> int:
    value = t.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ScenarioError(f"scenario: {where}.{key} must be an integer >= {lo}, not {value!r}")
    return value


def _regions(r: Mapping[str, Any]) -> Regions:
    """The [regions] table; explicit ``universes`` (positive integers) and ``held`` (booleans)
    come together, one per region, and then set ``count`` and ``universe_total``."""
    sizes, held = r.get("universes", ()), r.get("held", ())
    if not isinstance(sizes, list | tuple) or not isinstance(held, list | tuple):
        raise ScenarioError("scenario: regions.universes and regions.held must be lists")
    if len(sizes) != len(held):
        raise ScenarioError(f"scenario: regions.universes ({len(sizes)}) and regions.held "
                            f"({len(held)}) must name the same regions")
    if any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in sizes):
        raise ScenarioError("scenario: regions.universes must be integers >= 1")
    if any(not isinstance(h, bool) for h in held):
        raise ScenarioError("scenario: regions.held must be true or false for each region")
    regions = Regions(
        count=_int(r, "count", "regions", 100, 1),
        universe_total=_int(r, "universe_total", "regions", 100_000, 1),
        universe_sigma=_num(r, "universe_sigma", "regions", 0.8),
        partner_share=_share(r, "partner_share", "regions", 0.8),
        universes=tuple(int(u) for u in sizes), held=tuple(bool(h) for h in held))
    if sizes and (regions.count != len(sizes) or regions.universe_total != sum(sizes)):
        raise ScenarioError(f"scenario: regions.count ({regions.count}) and universe_total "
                            f"({regions.universe_total}) must match the {len(sizes)} universes "
                            f"given (sum {sum(sizes)})")
    return regions


def _rate(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise ScenarioError(f"scenario: {where} must be a quoted decimal string, not {value!r}")
    try:
        return parse_rate(value, name=where)
    except InvalidInput as err:
        raise ScenarioError(f"scenario: {err.detail}") from None


def _check_rate(policy: Policy, rate: Decimal, where: str) -> None:
    try:
        policy.check_concession_rate(rate)
    except InvalidInput as err:
        raise ScenarioError(f"scenario: {where}: {err.detail}") from None


def _yuan_to_fen(t: Mapping[str, Any], key: str, where: str, default: float) -> int:
    return max(1, round(_num(t, key, where, default, 0.01) * 100))


# ---------------------------------------------------------------- the policy


def load_policy_mapping(ref: str, base_dir: Path | None) -> dict[str, Any]:
    """A policy file's mapping: ``default`` is the packaged default policy, else a path."""
    if ref == "default":
        text = resources.files("gongsheng").joinpath("policy/default.toml").read_text("utf-8")
        return tomllib.loads(text)
    path = Path(ref)
    if not path.is_absolute() and base_dir is not None and not path.exists():
        path = base_dir / path
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"policy file not found: {ref}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"policy file {ref} is not valid TOML: {err}") from None


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _policy(raw: Mapping[str, Any], base_dir: Path | None) -> Policy:
    section = dict(_table(raw, "policy"))
    ref = str(section.pop("file", "default"))
    return policy_from_mapping(_merge(load_policy_mapping(ref, base_dir), section))


# ---------------------------------------------------------------- the scenario


def _categories(t: Mapping[str, Any], policy: Policy) -> tuple[Category, ...]:
    raw = t.get("categories", {"other": {"share": 1.0}})
    if not isinstance(raw, Mapping) or not raw:
        raise ScenarioError("scenario: [merchants.categories] must name at least one category")
    cats = []
    for name, spec in raw.items():
        where = f"merchants.categories.{name}"
        if not isinstance(spec, Mapping):
            raise ScenarioError(f"scenario: {where} must be a table")
        rate = (_rate(spec["rate"], f"{where}.rate") if "rate" in spec
                else policy.rate_for_category(str(name)))
        _check_rate(policy, rate, where)
        cats.append(Category(str(name), _num(spec, "share", where, 1.0),
                             rate, _yuan_to_fen(spec, "value_median_yuan", where, 80.0)))
    total = sum(c.share for c in cats)
    if total <= 0:
        raise ScenarioError("scenario: category shares must not all be zero")
    return tuple(Category(c.name, c.share / total, c.rate, c.value_median_fen) for c in cats)


def _contract_rates(t: Mapping[str, Any], policy: Policy) -> tuple[tuple[Decimal, float], ...]:
    part = policy.contract_part
    raw = t.get("bm_contract_rates", {})
    if part is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        return ((part.min_rate, 1.0),)
    rates = [(_rate(k, f"merchants.bm_contract_rates.{k}"),
              _num(raw, k, "merchants.bm_contract_rates")) for k in raw]
    total = sum(p for _, p in rates)
    for rate, _ in rates:
        if not part.min_rate <= rate <= part.max_rate:
            raise ScenarioError(f"scenario: BM contract rate {rate} is outside the policy's "
                                f"[{part.min_rate}, {part.max_rate}]")
    if total <= 0:
        raise ScenarioError("scenario: BM contract rate probabilities must not all be zero")
    return tuple((r, p / total) for r, p in sorted(rates))


def _list(t: Mapping[str, Any], key: str, default: Sequence[Any]) -> list[Any]:
    value = t.get(key, default)
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, Sequence) or not value:
        raise ScenarioError(f"scenario: abuse.{key} must be a non-empty list, not {value!r}")
    return list(value)


def _abuse(a: Mapping[str, Any]) -> Abuse:
    """The ``[abuse]`` table (absent: no rings)."""
    holds = tuple(_int({"study_holds": v}, "study_holds", "abuse")
                  for v in _list(a, "study_holds", (0, 1, 3, 6)))
    rates = tuple(_share({"study_detection_rates": v}, "study_detection_rates", "abuse")
                  for v in _list(a, "study_detection_rates", (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)))
    controllers = ([str(c) for c in _list(a, "study_controllers", ())]
                   if "study_controllers" in a else [])
    known = [c.value for c in Controller]
    for c in controllers:
        if c not in known:
            raise ScenarioError(f"scenario: abuse.study_controllers: {c!r} is not a controller "
                                f"({', '.join(known)})")
    return Abuse(
        merchant_share=_share(a, "merchant_share", "abuse", 0.0),
        fake_consumers=_int(a, "fake_consumers_per_merchant", "abuse", 10, 1),
        spend_fen=_yuan_to_fen(a, "spend_per_period_yuan", "abuse", 500.0),
        hold_periods=_int(a, "hold_periods", "abuse", 0),
        detection_rate=_share(a, "detection_rate", "abuse", 0.0),
        study_holds=tuple(sorted(set(holds))),
        study_detection_rates=tuple(sorted(set(rates))),
        study_runs=_int(a, "study_runs", "abuse", 4, 1),
        study_controllers=tuple(dict.fromkeys(controllers)),
    )


def scenario_from_mapping(raw: Mapping[str, Any], base_dir: Path | None = None) -> Scenario:
    """Validate a parsed scenario file and build the :class:`Scenario`; raise :class:`ScenarioError`."""
    policy = _policy(raw, base_dir)
    sim = _table(raw, "simulation")
    mode = str(sim.get("mode", "fast"))
    if mode not in MODES:
        raise ScenarioError(f"scenario: simulation.mode is {mode!r}; allowed: exact, fast")
    if policy.release.holder_spend_cap_multiple is not None:
        raise ScenarioError("scenario: the simulator does not model the per-holder spending valve "
                            "(release.holder_spend_cap_multiple); switch it off in the policy")
    c, g, r, m, o, v = (_table(raw, k) for k in
                        ("consumers", "growth", "regions", "merchants", "orders", "vouchers"))
    sampling = str(c.get("sampling", "constant"))
    if sampling not in ("constant", "cohort"):
        raise ScenarioError("scenario: consumers.sampling must be 'constant' or 'cohort'")
    consumers = Consumers(
        initial=_int(c, "initial", "consumers", None, 1),
        scale=_int(c, "scale", "consumers", 1, 1),
        sampling="cohort" if sampling == "cohort" else "constant",
        agents_per_cohort=_int(c, "agents_per_cohort", "consumers", 500, 1),
        churn=_share(c, "churn", "consumers", 0.02),
        intensity_shape=_num(c, "intensity_shape", "consumers", 2.0, 0.01),
        home_merchant_rate=_share(c, "home_merchant_rate", "consumers", 0.6),
        referral_rate=_share(c, "referral_rate", "consumers", 0.5),
    )
    growth = Growth(
        monthly=_num(g, "monthly", "growth", 0.0, 0.0, 10.0),
        stop_at=_int(g, "stop_at", "growth", 0),
        fade_from=_num(g, "fade_from", "growth", 0.8, 0.0, 1.0),
        consumers_per_merchant=_num(g, "consumers_per_merchant", "growth", 50.0, 0.01),
    )
    regions = _regions(r)
    merchants = Merchants(
        categories=_categories(m, policy),
        flagship_share=_share(m, "flagship_share", "merchants", 0.02),
        voucher_opt_in=_share(m, "voucher_opt_in", "merchants", 0.7),
        promoter_share=_share(m, "promoter_share", "merchants", 0.5),
        bm_share=_share(m, "bm_share", "merchants", 0.9),
        merchants_per_bm=_int(m, "merchants_per_bm", "merchants", 40, 1),
        bm_contract_rates=_contract_rates(m, policy),
    )
    mall_rate = _rate(o.get("mall_rate", "0.20"), "orders.mall_rate")
    _check_rate(policy, mall_rate, "orders.mall_rate")
    orders = Orders(
        purchases_start=_num(o, "purchases_start", "orders", 2.3),
        purchases_end=_num(o, "purchases_end", "orders", 3.8),
        ramp_periods=_int(o, "ramp_periods", "orders", 24, 1),
        value_sigma=_num(o, "value_sigma", "orders", 0.8, 0.0, 3.0),
        value_growth=_num(o, "value_growth", "orders", 0.0, -0.9),
        mall_share=_share(o, "mall_share", "orders", 0.15),
        flagship_share=_share(o, "flagship_share", "orders", 0.1),
        home_share=_share(o, "home_share", "orders", 0.3),
        mall_rate=mall_rate,
        mall_value_median_fen=_yuan_to_fen(o, "mall_value_median_yuan", "orders", 60.0),
    )
    if orders.mall_share + orders.flagship_share > 1:
        raise ScenarioError("scenario: orders.mall_share + orders.flagship_share exceeds 1")
    vouchers = VoucherUse(
        spend_share=_share(v, "spend_share", "vouchers", 0.5),
        merchant_spend_share=_share(v, "merchant_spend_share", "vouchers", 0.3),
    )
    return Scenario(
        name=str(raw.get("name", "unnamed")),
        description=str(raw.get("description", "")),
        periods=_int(sim, "periods", "simulation", 36, 1),
        runs=_int(sim, "runs", "simulation", 20, 1),
        seed=_int(sim, "seed", "simulation", 0),
        mode="exact" if mode == "exact" else "fast",
        policy=policy,
        consumers=consumers,
        growth=growth,
        regions=regions,
        merchants=merchants,
        orders=orders,
        vouchers=vouchers,
        abuse=_abuse(_table(raw, "abuse")),
        raw=copy.deepcopy(dict(raw)),
        base_dir=base_dir,
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name (``seed-claims``, ``steady``, ...) or a scenario file by path."""
    path = Path(name_or_path)
    if name_or_path in BUILTINS and not path.exists():
        text = resources.files("gongsheng.sim").joinpath(f"scenarios/{name_or_path}.toml")
        return scenario_from_mapping(tomllib.loads(text.read_text("utf-8")), None)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        known = ", ".join(BUILTINS)
        raise ScenarioError(f"no scenario {name_or_path!r}: not a file, nor a built-in ({known})")\
            from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"scenario {name_or_path} is not valid TOML: {err}") from None
    return scenario_from_mapping(raw, path.parent)
