"""Freezes (冻结): an administrator stops a party under review from taking value out.

While a party is frozen:

- a merchant's orders are refused (:class:`PartyFrozen`, nothing posted);
- a consumer cannot spend vouchers (nor issue pay codes or exchange points), while its cash
  orders still earn points;
- no holder is settled: its releases accrue in the released-unsettled clearing account, as they
  do for any holder not touched yet (lazy settlement), and its checkpoints stay where they were;
- an earner (merchant, BM, partner, promoter) cannot withdraw, while its earnings keep accruing.

Unfreezing only ends the freeze: the holder's next settlement pays ``floor(V x F) - checkpoint``
from the cumulative fractions, exactly what it would have been paid had it never been frozen, and
its cash was never touched. Nothing is done per holder at a close, and nothing is moved at a
freeze or an unfreeze, so nothing can be lost or paid twice.

Freezing a frozen party, or unfreezing one that is not, changes nothing (the first freeze's
reason stays). Both take the party's adjustment lock, so a withdrawal or refund of the party
under way finishes before the freeze, and one starting after it sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.events import PartyFrozen, PartyUnfrozen
from gongsheng.domain.freezes import FreezeRecord
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.wallets import party_kind

MAX_REASON = 500
MAX_ACTOR = 100

__all__ = ["FreezeStatus", "freeze_party", "freeze_status", "frozen_among", "is_frozen",
           "unfreeze_party"]


def is_frozen(stores: Stores, party_id: int) -> bool:
    """Whether the party has an open freeze."""
    return stores.freezes.is_frozen(party_id)


def frozen_among(stores: Stores, party_ids: list[int]) -> set[int]:
    """Which of ``party_ids`` are frozen now (one indexed query; for a page of a list)."""
    return stores.freezes.frozen_among(party_ids)


def _freezable(stores: Stores, party_id: int) -> str:
    kind = party_kind(stores, party_id)
    if party_id == PLATFORM_PARTY_ID or kind == "platform":
        raise InvalidInput("the platform cannot be frozen")
    return kind


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor or len(actor) > MAX_ACTOR:
        raise InvalidInput(f"the actor must be named (1 to {MAX_ACTOR} characters)")
    return actor


def freeze_party(uow: Work, party_id: int, *, reason: str, actor: str) -> None:
    """Freeze a party for review, with a reason (the caller commits)."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"a freeze needs a reason (1 to {MAX_REASON} characters)")
    actor = _actor(actor)
    uow.lock_adjustments([party_id])
    kind = _freezable(uow, party_id)
    if uow.freezes.is_frozen(party_id):
        return
    uow.freezes.add(party_id, reason, actor)
    uow.record(PartyFrozen(period=uow.periods.open_period().seq, party_id=party_id, kind=kind,
                           reason=reason, actor=actor))
    uow.audit("party.frozen", f"party:{party_id}", {"reason": reason, "kind": kind})


def unfreeze_party(uow: Work, party_id: int, *, actor: str) -> None:
    """End a party's freeze (the caller commits); it resumes with everything it accrued."""
    actor = _actor(actor)
    uow.lock_adjustments([party_id])
    kind = _freezable(uow, party_id)
    current = uow.freezes.open_freeze(party_id)
    if current is None:
        return
    uow.freezes.end(current.id, actor)
    uow.record(PartyUnfrozen(period=uow.periods.open_period().seq, party_id=party_id, kind=kind,
                             actor=actor))
    uow.audit("party.unfrozen", f"party:{party_id}", {"kind": kind})


@dataclass(frozen=True)
class FreezeStatus:
    """Whether a party is frozen now, and its freezes, newest first."""

    party_id: int
    kind: str
    frozen: bool
    current: FreezeRecord | None
    history: tuple[FreezeRecord, ...]


def freeze_status(stores: Stores, party_id: int) -> FreezeStatus:
    """The party's freeze status (:class:`NotFound` for no such party)."""
    kind = party_kind(stores, party_id)
    history = tuple(stores.freezes.history(party_id))
    current = next((f for f in history if f.unfrozen_at is None), None)
    return FreezeStatus(party_id, kind, current is not None, current, history)
