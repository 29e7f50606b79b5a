"""The concession waterfall (让利分配): how each order's concession is split.

For an order of G at a merchant with concession rate r, ``C = round_half_up(G x r)``. Each named
part is rounded half up from its exact value (of C, or of G for an order-based part), on its own:
no part depends on another, and the dividend pool takes the rest. Invariants:

- the parts plus the pool sum exactly to C, every part and the pool are ``>= 0``;
- a part whose recipient is vacant is paid to the pool and changes no other part: every present
  recipient gets exactly what it would get if all roles were present;
- the split is a pure function of its inputs (deterministic).

The policy refuses, when it is loaded and when a merchant is signed or changes its rate, every
combination of rates under which the rounded parts could exceed C at some amount
(:mod:`gongsheng.domain.feasibility`). A split whose rounded parts exceed C therefore breaks an
invariant and raises :class:`~gongsheng.domain.errors.InvariantViolation`; nothing is cut.

:func:`split_amounts` is the arithmetic core; it uses only integer operators, so the simulator
calls it with NumPy arrays (one element per order) and gets the same fen as the live engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gongsheng.domain.errors import InvariantViolation
from gongsheng.domain.money import apply_rate, apply_ratio, ratio
from gongsheng.domain.policy import Base, Policy, Recipient


def concession(gross: Any, rate_num: Any, rate_den: Any) -> Any:
    """C = round_half_up(G x r) for ``r = rate_num / rate_den`` (ints or arrays)."""
    return apply_ratio(gross, rate_num, rate_den)


def _any(flags: Any) -> bool:
    """Whether a comparison holds anywhere: a bool, or an array of them (NumPy's ``any``)."""
    return bool(flags.any()) if hasattr(flags, "any") else bool(flags)


def split_amounts(
    gross: Any,
    conc: Any,
    parts: Sequence[tuple[Any, Any, bool]],
    present: Sequence[Any],
) -> tuple[list[Any], Any]:
    """The arithmetic of the waterfall.

    ``parts`` holds, per named part in order, ``(num, den, on_order)``: its rate as an integer
    ratio (scalars or arrays) and whether it applies to G (else to C). ``present`` holds per part
    1 when the recipient exists, 0 when vacant. Returns ``(amounts, pool)``: each part's amount
    (what its recipient gets, or the pool when vacant) and the pool's share, vacant parts
    included; ``sum(amounts[i] * present[i]) + pool == conc`` element-wise. Each amount is
    rounded from its own exact value, so ``present`` changes only the pool. Raises
    :class:`InvariantViolation` if the rounded parts exceed ``conc`` (a combination of rates the
    policy refuses).
    """
    amounts = [apply_ratio(gross if on_order else conc, num, den) for num, den, on_order in parts]
    if _any(sum(amounts) > conc):
        raise InvariantViolation(
            "the rounded waterfall parts exceed the concession: a combination of rates the "
            "policy refuses was used")
    pool = conc - sum(a * here for a, here in zip(amounts, present, strict=True))
    return amounts, pool


@dataclass(frozen=True)
class Beneficiaries:
    """Who holds each role for one order; ``None`` where the role is vacant."""

    platform: int
    region_partner: int | None
    signing_promoter: int | None
    bound_bm: int | None
    home_merchant: int | None

    def of(self, recipient: Recipient) -> int | None:
        return {
            Recipient.PLATFORM: self.platform,
            Recipient.REGION_PARTNER: self.region_partner,
            Recipient.SIGNING_PROMOTER: self.signing_promoter,
            Recipient.BOUND_BM: self.bound_bm,
            Recipient.HOME_MERCHANT: self.home_merchant,
        }[recipient]


@dataclass(frozen=True)
class Allocation:
    """One part of a split: ``party_id is None`` means the role was vacant and it went to the pool."""

    part: str
    recipient: Recipient
    party_id: int | None
    amount_fen: int

    @property
    def vacant(self) -> bool:
        return self.party_id is None


@dataclass(frozen=True)
class Split:
    """A concession split. Invariant: paid parts plus ``pool_fen`` equal ``concession_fen``."""

    gross_fen: int
    concession_fen: int
    allocations: tuple[Allocation, ...]
    pool_fen: int

    def __post_init__(self) -> None:
        paid = sum(a.amount_fen for a in self.allocations if not a.vacant)
        if paid + self.pool_fen != self.concession_fen or self.pool_fen < 0:
            raise InvariantViolation("a split's parts must sum exactly to its concession")

    def paid_to(self, recipient: Recipient) -> int:
        return sum(a.amount_fen for a in self.allocations
                   if a.recipient is recipient and not a.vacant)


def part_ratios(
    policy: Policy, contract_rate: Decimal
) -> list[tuple[int, int, bool]]:
    """Every waterfall part of the policy as ``(num, den, on_order)`` at a contract rate."""
    out: list[tuple[int, int, bool]] = []
    for part in policy.waterfall:
        num, den = ratio(contract_rate if part.rate is None else part.rate)
        out.append((num, den, part.base is Base.ORDER))
    return out


def split_order(
    policy: Policy,
    gross_fen: int,
    concession_rate: Decimal,
    contract_rate: Decimal,
    beneficiaries: Beneficiaries,
) -> Split:
    """Split the concession of one order of ``gross_fen`` per the policy's waterfall."""
    conc = int(apply_rate(gross_fen, concession_rate))
    holders = [beneficiaries.of(p.recipient) for p in policy.waterfall]
    amounts, pool = split_amounts(
        gross_fen, conc, part_ratios(policy, contract_rate),
        [0 if h is None else 1 for h in holders],
    )
    allocations = tuple(
        Allocation(part.name, part.recipient, holder, int(amount))
        for part, holder, amount in zip(policy.waterfall, holders, amounts, strict=True)
    )
    return Split(gross_fen, conc, allocations, int(pool))
