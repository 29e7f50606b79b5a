"""Abuse cases (风险案件): open, investigate, confirm or dismiss; notes; who decided.

A case holds the parties and orders a flag (or an admin) named. Its status follows
``domain.cases`` (open -> investigating -> confirmed | dismissed). Confirming may:

- freeze parties of the case (``services.freezes.freeze_party``, in this unit of work);
- refund the case's orders, each for what is not yet refunded, through the normal refund path
  (``services.refunding.refund_order``), under the key ``case <id> order <order>`` (with
  spaces, which no client's ``Idempotency-Key`` may hold, so no party can claim it first): the
  books stay exact and balanced as for any refund, and a repeat refunds nothing twice. An
  order the refund path refuses (its points already exchanged for store units, say) is left
  as it is and named in the decision's ``not_refunded``, with the reason; the freezes and the
  other refunds still take effect.

Every change is one transaction with its event (``case.opened``, ``case.status_changed``,
``case.noted``); moving a case to the status it has is an idempotent no-op. Only admins act on
cases (the entry points check it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gongsheng.adapters.paging import KeyedPage
from gongsheng.domain.cases import CaseStatus, check_transition
from gongsheng.domain.errors import GongshengError, InvalidInput, NotFound
from gongsheng.domain.events import CaseNoted, CaseStatusChanged
from gongsheng.services.flags import open_case
from gongsheng.services.ports.work import Stores
from gongsheng.services.refunding import refund_order
from gongsheng.services.unit_of_work import UnitOfWork

MAX_NOTE = 4000
MAX_PARTS = 500
"""Most parties or orders a case opened by hand may name."""


@dataclass(frozen=True)
class Case:
    """A case as read back: its rows, its parties ``(id, role)``, orders, notes and flags."""

    id: int
    detector: str
    status: str
    summary: str
    period: int
    opened_by: str
    decided_by: str | None
    decided_at: str | None
    decision: dict[str, Any] | None
    created_at: str
    updated_at: str
    parties: tuple[dict[str, Any], ...] = ()
    order_ids: tuple[int, ...] = ()
    notes: tuple[dict[str, Any], ...] = ()
    flags: tuple[dict[str, Any], ...] = ()


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def _case(row: Any) -> Case:
    return Case(int(row.id), row.detector, row.status, row.summary, int(row.period),
                row.opened_by, row.decided_by, _iso(row.decided_at),
                json.loads(row.decision) if row.decision else None,
                _iso(row.created_at) or "", _iso(row.updated_at) or "")


def get_case(stores: Stores, case_id: int) -> Case:
    """One case with its parties, orders, notes and flags."""
    row = stores.cases.case_row(case_id)
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    base = _case(row)
    return Case(**{**base.__dict__,
                   "parties": tuple({"party_id": p, "role": r}
                                    for p, r in stores.cases.parties_of(case_id)),
                   "order_ids": tuple(stores.cases.orders_of(case_id)),
                   "notes": tuple({"id": int(n.id), "actor": n.actor, "body": n.body,
                                   "created_at": _iso(n.created_at)}
                                  for n in stores.cases.notes_of(case_id)),
                   "flags": tuple({"flag": f.detector, "period": int(f.period),
                                   "party_id": f.party_id, "detail": f.detail}
                                  for f in stores.cases.flags_of(case_id, 200))})


def list_cases(stores: Stores, status: str | None = None, *, limit: int = 50,
               before: int | None = None, after: int | None = None,
               newer: bool = False) -> KeyedPage[Case]:
    """Cases, newest first (only ``status`` ones if given), without their parts: one page by key."""
    if status is not None:
        CaseStatus(status)
    return stores.cases.list_cases(status, limit, before, after, newer).map(_case)


def _check_parts(stores: Stores, party_ids: Sequence[int], order_ids: Sequence[int]) -> None:
    if len(party_ids) > MAX_PARTS or len(order_ids) > MAX_PARTS:
        raise InvalidInput(f"a case names at most {MAX_PARTS} parties and {MAX_PARTS} orders")
    for ids, what in ((party_ids, "party"), (order_ids, "order")):
        known = stores.cases.known(what, ids)
        missing = sorted(set(ids) - known)
        if missing:
            raise NotFound(f"{what} {missing[0]} does not exist")


def create_case(uow: UnitOfWork, summary: str, party_ids: Sequence[int],
                order_ids: Sequence[int], actor: str) -> Case:
    """Open a case by hand (detector ``manual``) naming parties and orders."""
    if not summary.strip():
        raise InvalidInput("a case needs a summary")
    _check_parts(uow, party_ids, order_ids)
    case_id, _ = open_case(uow, detector="manual", summary=summary.strip(),
                           period=uow.periods.open_period().seq, actor=actor,
                           parties=[(p, "party") for p in party_ids], order_ids=order_ids,
                           open_key=None)
    uow.audit("case.opened", f"case:{case_id}", {"summary": summary.strip(),
                                                 "party_ids": sorted(set(party_ids)),
                                                 "order_ids": sorted(set(order_ids))})
    return get_case(uow, case_id)


def add_note(uow: UnitOfWork, case_id: int, body: str, actor: str) -> Case:
    """Add a note to a case (decided or not)."""
    if not body.strip() or len(body) > MAX_NOTE:
        raise InvalidInput(f"a note is 1 to {MAX_NOTE} characters")
    if uow.cases.case_row(case_id, for_update=True) is None:
        raise NotFound(f"case {case_id} does not exist")
    note_id = uow.cases.add_note(case_id, actor, body.strip())
    uow.audit("case.noted", f"case:{case_id}", {"note_id": note_id})
    uow.record(CaseNoted(period=uow.periods.open_period().seq, case_id=case_id, note_id=note_id,
                         actor=actor))
    return get_case(uow, case_id)


def _freeze(uow: UnitOfWork, party_ids: Sequence[int], case_id: int, actor: str) -> None:
    """Freeze each party through ``services.freezes`` (imported here: it is optional)."""
    if not party_ids:
        return
    try:
        from gongsheng.services import freezes  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        raise InvalidInput("freezing parties is not available in this installation") from None

    for party in party_ids:
        freezes.freeze_party(uow, party, reason=f"case {case_id} confirmed", actor=actor)


def refund_key(case_id: int, order_id: int) -> str:
    """The idempotency key of a case's refund of an order: it holds spaces, which the API's
    ``Idempotency-Key`` refuses, so only a case decision can use it."""
    return f"case {case_id} order {order_id}"


def _refund_all(uow: UnitOfWork, case_id: int) -> tuple[list[int], list[dict[str, Any]]]:
    """Refund what is left of every order of the case: the refund ids (a repeat makes none),
    and the orders the refund path refused, each with its reason.

    First the locks of all the refunds at once, in the refunds' own order (books, parties, pool;
    ``UnitOfWork.lock_adjustments``) with the pool take of them all: each refund's own lock
    call then finds them held, and the pool's sharing rule holds for the whole transaction.
    Each refund runs in a savepoint: a refused one leaves nothing, not even its events.
    """
    rows = uow.cases.refundable_orders(uow.cases.orders_of(case_id))
    if not rows:
        return [], []
    uow.lock_adjustments([p for r in rows for p in (r[2], r[3], r[4])],
                         pool_take=sum(r[5] for r in rows))
    refunded: list[int] = []
    refused: list[dict[str, Any]] = []
    for order_id, left, *_ in rows:
        try:
            with uow.savepoint():  # a refusal drops the refund's events and audit records too
                refunded.append(refund_order(uow, order_id, left,
                                             refund_key(case_id, order_id)).refund_id)
        except GongshengError as refusal:
            refused.append({"order_id": order_id, "reason": str(refusal)})
    return refunded, refused


def transition(uow: UnitOfWork, case_id: int, status: str, actor: str, *,
               note: str | None = None, freeze_party_ids: Sequence[int] = (),
               refund_orders: bool = False) -> Case:
    """Move a case to ``status``; confirming may freeze parties of the case and refund its
    orders (both refused for any other move). A move to the case's own status changes nothing."""
    try:
        target = CaseStatus(status)
    except ValueError:
        raise InvalidInput(f"unknown case status {status!r}; one of "
                           + ", ".join(s.value for s in CaseStatus)) from None
    if (freeze_party_ids or refund_orders) and target is not CaseStatus.CONFIRMED:
        raise InvalidInput("only confirming a case may freeze parties or refund orders")
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters")
    row = uow.cases.case_row(case_id, for_update=True)
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    current = CaseStatus(row.status)
    if not check_transition(current, target):
        return get_case(uow, case_id)
    involved = {p for p, _ in uow.cases.parties_of(case_id)}
    strangers = sorted(set(freeze_party_ids) - involved)
    if strangers:
        raise InvalidInput(f"party {strangers[0]} is not a party of case {case_id}")
    frozen = sorted(set(freeze_party_ids))
    _freeze(uow, frozen, case_id, actor)
    refunds, not_refunded = _refund_all(uow, case_id) if refund_orders else ([], [])
    decision = (json.dumps({"frozen_party_ids": frozen, "refund_ids": refunds,
                            "not_refunded": not_refunded, "note": note})
                if target.decided else None)
    uow.cases.set_status(case_id, target.value, actor=actor, decision=decision,
                     decided=target.decided)
    if note:
        uow.cases.add_note(case_id, actor, note)
    uow.record(CaseStatusChanged(
        period=uow.periods.open_period().seq, case_id=case_id, previous=current.value,
        status=target.value, actor=actor, note=note, frozen_party_ids=tuple(frozen),
        refund_ids=tuple(refunds)))
    uow.audit("case.decided" if target.decided else "case.status_changed", f"case:{case_id}",
              {"from": current.value, "to": target.value, "frozen_party_ids": frozen,
               "refund_ids": refunds, "not_refunded": not_refunded, "note": note})
    return get_case(uow, case_id)
