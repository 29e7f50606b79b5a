"""Raising a risk flag: store it once and open (or join) the case about its subject.

Every flag belongs to a case. A detector names the flag (``flag_key``, unique: seeing the same
thing again changes nothing) and its subject (``subject``: the undecided case it joins, say
``wash_trading:merchant:7``); the first flag on a subject opens a case (``case.opened``), later
ones add their parties and orders to it. A decided case no longer takes flags: the next flag on
its subject opens a new case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gongsheng.adapters import case_store as store
from gongsheng.domain.cases import CaseStatus
from gongsheng.domain.events import CaseOpened
from gongsheng.services.unit_of_work import UnitOfWork

DETECTOR_ACTOR = "detector"
"""The actor recorded for a case a detector opened."""


@dataclass(frozen=True)
class Flag:
    """What a detector saw: ``parties`` as ``(party_id, role)``; ``party_id`` the one named."""

    detector: str
    flag_key: str
    subject: str
    period: int
    party_id: int | None
    detail: str
    parties: Sequence[tuple[int, str]] = ()
    order_ids: Sequence[int] = ()


def open_case(uow: UnitOfWork, *, detector: str, summary: str, period: int, actor: str,
              parties: Sequence[tuple[int, str]], order_ids: Sequence[int],
              open_key: str | None) -> tuple[int, bool]:
    """The undecided case under ``open_key`` (adding the parties and orders to it), or a new
    one; ``(case id, whether it is new)``. Without an ``open_key`` the case is always new."""
    conn = uow.conn
    case_id = store.undecided_case(conn, open_key) if open_key is not None else None
    created = False
    if case_id is None:
        case_id = store.insert_case(conn, {
            "detector": detector, "status": CaseStatus.OPEN.value, "summary": summary,
            "period": period, "open_key": open_key, "opened_by": actor})
        if case_id is None:  # a concurrent writer opened it first: join that one
            assert open_key is not None
            case_id = store.undecided_case(conn, open_key)
            assert case_id is not None
        else:
            created = True
    store.add_parties(conn, case_id, parties)
    store.add_orders(conn, case_id, order_ids)
    if created:
        uow.record(CaseOpened(period=period, case_id=case_id, detector=detector, summary=summary,
                              party_ids=tuple(sorted({p for p, _ in parties})),
                              order_ids=tuple(sorted(set(order_ids))), actor=actor))
    return case_id, created


def raise_flag(uow: UnitOfWork, flag: Flag) -> int | None:
    """Store ``flag`` and file it in its case; the case id, or None if the flag was stored
    already (then only its orders join its subject's undecided case, if there is one: a
    dismissed flag does not come back)."""
    conn = uow.conn
    if not store.add_flag(conn, {
            "flag_key": flag.flag_key, "detector": flag.detector, "period": flag.period,
            "party_id": flag.party_id, "detail": flag.detail, "case_id": None}):
        existing = store.undecided_case(conn, flag.subject)
        if existing is not None:
            store.add_orders(conn, existing, flag.order_ids)
        return None
    case_id, _ = open_case(uow, detector=flag.detector, summary=flag.detail, period=flag.period,
                           actor=DETECTOR_ACTOR, parties=flag.parties, order_ids=flag.order_ids,
                           open_key=flag.subject)
    store.file_flag(conn, flag.flag_key, case_id)
    return case_id
