"""Abuse cases (admin): list, open by hand, read, move on, add notes; a party's identifiers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import Connection

from gongsheng.adapters.paging import KeyedPage
from gongsheng.entrypoints.api.deps import (
    MAX_ID,
    ActingPlatform,
    AdminUser,
    Before,
    Digits,
    IdempotencyKey,
    Limit,
    Offset,
    PartyId,
    PlatformDep,
)
from gongsheng.entrypoints.api.schemas_cases import (
    CaseIn,
    CaseOut,
    CasePage,
    IdentifiersIn,
    IdentifiersOut,
    NoteIn,
    Status,
    TransitionIn,
)
from gongsheng.services import cases, rings
from gongsheng.services.actions import run_keyed
from gongsheng.services.cases import Case
from gongsheng.services.unit_of_work import UnitOfWork, stores_on

router = APIRouter(tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="a case's id"), Digits]


def _out(case: Case) -> CaseOut:
    return CaseOut.model_validate(asdict(case))


@router.get("/cases", response_model=CasePage)
def list_cases(_: AdminUser, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
               status: Annotated[Status | None, Query()] = None,
               before: Before = None) -> CasePage:
    """Cases, newest first (only those of ``status`` if given); paged by key (``next_before``)."""
    def read(conn: Connection) -> tuple[KeyedPage[Case], list[Case]]:
        stores = stores_on(conn)
        page = cases.list_cases(stores, status, limit=limit, before=before)
        return page, [cases.get_case(stores, k.id) for k in page.items]

    found, whole = platform.read(read)
    return CasePage(items=[_out(k) for k in whole], **CasePage.fields_of(found, limit))


@router.post("/cases", status_code=201, response_model=CaseOut)
def create_case(body: CaseIn, key: IdempotencyKey, user: AdminUser,
                platform: ActingPlatform) -> CaseOut:
    """Open a case by hand, naming parties and orders (the same key replays the first case)."""

    def use_case(uow: UnitOfWork) -> Case:
        answer, _ = run_keyed(uow, "case.create", 0, key, body.model_dump(), lambda: {
            "case_id": cases.create_case(uow, body.summary, body.party_ids, body.order_ids,
                                         user.username).id})
        return cases.get_case(uow, int(answer["case_id"]))

    return _out(platform.run(use_case))


@router.get("/cases/{case_id}", response_model=CaseOut)
def read_case(case_id: CaseId, _: AdminUser, platform: PlatformDep) -> CaseOut:
    """One case: its parties, orders, flags, notes and decision."""
    return _out(platform.read(lambda conn: cases.get_case(stores_on(conn), case_id)))


@router.post("/cases/{case_id}/transitions", response_model=CaseOut)
def move_case(case_id: CaseId, body: TransitionIn, user: AdminUser,
              platform: ActingPlatform) -> CaseOut:
    """Move a case on (open -> investigating -> confirmed | dismissed); confirming may freeze
    parties of the case and refund its orders. Asking for the status it has changes nothing."""
    return _out(platform.run(cases.transition, case_id, body.status, user.username,
                             note=body.note, freeze_party_ids=body.freeze_party_ids,
                             refund_orders=body.refund_orders))


@router.post("/cases/{case_id}/notes", status_code=201, response_model=CaseOut)
def add_note(case_id: CaseId, body: NoteIn, key: IdempotencyKey, user: AdminUser,
             platform: ActingPlatform) -> CaseOut:
    """Add a note to a case (the same key adds it once)."""

    def use_case(uow: UnitOfWork) -> Case:
        run_keyed(uow, "case.note", case_id, key, body.model_dump(), lambda: {
            "case_id": cases.add_note(uow, case_id, body.body, user.username).id})
        return cases.get_case(uow, case_id)

    return _out(platform.run(use_case))


@router.post("/parties/{party_id}/identifiers", response_model=IdentifiersOut)
def add_identifiers(party_id: PartyId, body: IdentifiersIn, _: AdminUser,
                    platform: ActingPlatform) -> IdentifiersOut:
    """Record a party's own payment instruments and devices (a merchant's accounts, say), so
    that consumers sharing them are seen; a known pair adds nothing."""
    added = platform.run(rings.register_identifiers, party_id, body.payment_refs, body.device_ids)
    return IdentifiersOut(party_id=party_id, added=added)
