"""Request and response bodies of abuse cases and party identifiers (strict, like schemas.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from gongsheng.entrypoints.api.schemas import Identifier, In, KeyedPageOut, Ref
from gongsheng.services.cases import MAX_NOTE, MAX_PARTS

Status = Literal["open", "investigating", "confirmed", "dismissed"]
Note = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NOTE)]


class CaseIn(In):
    """A case opened by hand: what it is about, and the parties and orders it names."""

    summary: Annotated[StrictStr, Field(min_length=1, max_length=1000)]
    party_ids: Annotated[list[Ref], Field(default_factory=list, max_length=MAX_PARTS)]
    order_ids: Annotated[list[Ref], Field(default_factory=list, max_length=MAX_PARTS)]


class TransitionIn(In):
    """Move a case on. Confirming may freeze parties of the case and refund its orders."""

    status: Status
    note: Note | None = None
    freeze_party_ids: Annotated[list[Ref], Field(default_factory=list, max_length=MAX_PARTS)]
    refund_orders: bool = False


class NoteIn(In):
    body: Note


class IdentifiersIn(In):
    """A party's own payment instruments (hashes) and devices, from the payment side."""

    payment_refs: Annotated[list[Identifier], Field(default_factory=list, max_length=50)]
    device_ids: Annotated[list[Identifier], Field(default_factory=list, max_length=50)]


class IdentifiersOut(BaseModel):
    party_id: int
    added: int


class CaseParty(BaseModel):
    party_id: int
    role: str


class CaseNote(BaseModel):
    id: int
    actor: str
    body: str
    created_at: str | None


class CaseFlag(BaseModel):
    flag: str
    period: int
    party_id: int | None
    detail: str


class CaseOut(BaseModel):
    id: int
    detector: str
    status: Status
    summary: str
    period: int
    opened_by: str
    decided_by: str | None
    decided_at: str | None
    decision: dict[str, object] | None
    created_at: str
    updated_at: str
    parties: list[CaseParty]
    order_ids: list[int]
    notes: list[CaseNote]
    flags: list[CaseFlag]


class CasePage(KeyedPageOut):
    items: list[CaseOut]
