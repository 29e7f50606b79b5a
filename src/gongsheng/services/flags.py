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

from gongsheng.domain.cases import CaseStatus
from gongsheng.domain.events import CaseOpened
from gongsheng.services.ports.work import Work

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


def open_case(uow: Work, *, detector: str, summary: str, period: int, actor: str,
              parties: Sequence[tuple[int, str]], order_ids: Sequence[int],
              open_key: str | None) -> tuple[int, bool]:
    """The undecided case under ``open_key`` (adding the parties and orders to it), or a new
    one; ``(case id, whether it is new)``. Without an ``open_key`` the case is always new."""
    case_id = uow.cases.undecided_case(open_key) if open_key is not None else None
    created = False
    if case_id is None:
        case_id = uow.cases.insert_case({
            "detector": detector, "status": CaseStatus.OPEN.value, "summary": summary,
            "period": period, "open_key": open_key, "opened_by": actor})
        if case_id is None:  # a concurrent writer opened it first: join that one
            assert open_key is not None
            case_id = uow.cases.undecided_case(open_key)
            assert case_id is not None
        else:
            created = True
    uow.cases.add_parties(case_id, parties)
    uow.cases.add_orders(case_id, order_ids)
    if created:
        _record_opened(uow, case_id, detector, summary, period, actor, parties, order_ids)
    return case_id, created


def _record_opened(uow: Work, case_id: int, detector: str, summary: str, period: int,
                   actor: str, parties: Sequence[tuple[int, str]], order_ids: Sequence[int]) -> None:
    """Record ``case.opened`` for a case opened with ``parties`` and ``order_ids``."""
    uow.record(CaseOpened(period=period, case_id=case_id, detector=detector, summary=summary,
                          party_ids=tuple(sorted({p for p, _ in parties})),
                          order_ids=tuple(sorted(set(order_ids))), actor=actor))


def raise_flags(uow: Work, flags: Sequence[Flag]) -> int:
    """Store ``flags`` and file each new one in its case, as storing and filing them one after
    another would; how many were new. A flag stored already (or given twice) files nothing: only
    its orders join its subject's undecided case, if there is one then (a dismissed flag does not
    come back). The first new flag on a subject without an undecided case opens one
    (``case.opened``, with that flag's parties and orders), the later ones join it.

    Six statements for up to ``adapters.case_store.ROWS_PER_STATEMENT`` flags (a close raises many: one
    per ring consumer and merchant), not a few per flag: the flags, the undecided cases of their
    subjects, the new cases, their parties, their orders, the filing.
    """
    firsts: dict[str, Flag] = {}  # each key's first flag, in order
    for f in flags:
        firsts.setdefault(f.flag_key, f)
    new = uow.cases.add_flags([{
        "flag_key": f.flag_key, "detector": f.detector, "period": f.period,
        "party_id": f.party_id, "detail": f.detail, "case_id": None} for f in firsts.values()])
    before = uow.cases.undecided_cases({f.subject for f in flags})
    openers: dict[str, Flag] = {}  # subject -> the new flag that opens its case
    for f in firsts.values():
        if f.flag_key in new and f.subject not in before:
            openers.setdefault(f.subject, f)
    opened = uow.cases.insert_cases([{
        "detector": f.detector, "status": CaseStatus.OPEN.value, "summary": f.detail,
        "period": f.period, "open_key": subject, "opened_by": DETECTOR_ACTOR}
        for subject, f in openers.items()])
    # a case a concurrent writer opened meanwhile is joined
    live = {**before, **opened, **uow.cases.undecided_cases([s for s in openers if s not in opened])}
    reached: set[str] = set(before)  # the subjects whose case the walk has reached
    filed: dict[str, int] = {}
    parties: list[tuple[int, int, str]] = []
    orders: list[tuple[int, int]] = []
    for f in flags:
        if f.flag_key in new and f.flag_key not in filed:
            reached.add(f.subject)
            case_id = filed[f.flag_key] = live[f.subject]
            parties += [(case_id, p, r) for p, r in dict(f.parties).items()]
        elif f.subject in reached:
            case_id = live[f.subject]
        else:
            continue
        orders += [(case_id, o) for o in f.order_ids]
    uow.cases.add_case_parties(parties)
    uow.cases.add_case_orders(orders)
    uow.cases.file_flags(filed)
    for subject, f in openers.items():
        if subject in opened:
            _record_opened(uow, opened[subject], f.detector, f.detail, f.period, DETECTOR_ACTOR,
                           f.parties, f.order_ids)
    return len(filed)
