"""Request schemas: every integer of every request body is a JSON integer, never coerced.

The class of defect: lax validation took ``true`` as 1 (a 1-fen order), ``"100"``, ``100.0`` and
``1e3`` as integers. The test walks every request model of the API (every subclass of
``schemas.In``) and every integer field in it, so a field added later is covered too.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gongsheng.entrypoints.api import schemas

NOT_INTEGERS: list[Any] = [True, False, "100", "1", 100.0, 1.0, json.loads("1e3"), None, [1], {"v": 1}]


def _request_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [schemas.In]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model is not schemas.In:
            found.append(model)
    return found


def _holds_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if annotation is bool:
        return False
    return any(_holds_int(arg) for arg in typing.get_args(annotation))


def _optional(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return (origin is typing.Union or origin is types.UnionType) and type(None) in typing.get_args(annotation)


INT_FIELDS = [(model, name) for model in _request_models()
              for name, info in model.model_fields.items() if _holds_int(info.annotation)]


def _errors_at(model: type[BaseModel], name: str, value: Any) -> list[dict[str, Any]]:
    try:
        model.model_validate({name: value})
    except ValidationError as err:
        return [dict(e) for e in err.errors() if e["loc"][:1] == (name,)]
    return []


def test_the_walk_finds_every_amount_and_id_of_the_contract() -> None:
    names = {(m.__name__, n) for m, n in INT_FIELDS}
    assert {("OrderIn", "amount_fen"), ("OrderIn", "voucher_fen"), ("OrderIn", "consumer_id"),
            ("RefundIn", "amount_fen"), ("PayoutIn", "amount_fen"), ("PayoutIn", "party_id"),
            ("RegionIn", "merchant_universe"), ("PartnerIn", "investment_fen"),
            ("CloseIn", "period"), ("ConsumerIn", "referrer_id")} <= names


@pytest.mark.parametrize(("model", "name"), INT_FIELDS,
                         ids=[f"{m.__name__}.{n}" for m, n in INT_FIELDS])
def test_every_integer_field_takes_only_a_json_integer(model: type[BaseModel], name: str) -> None:
    listed = typing.get_origin(model.model_fields[name].annotation) is list  # a list of ids

    def shaped(value: Any) -> Any:
        return [value] if listed else value

    assert _errors_at(model, name, shaped(1)) == []  # a plain integer is accepted
    for value in NOT_INTEGERS:
        if value is None and _optional(model.model_fields[name].annotation):
            continue
        errors = _errors_at(model, name, shaped(value))
        assert errors, f"{model.__name__}.{name} took {value!r}"


def test_a_nested_body_is_strict_too() -> None:
    with pytest.raises(ValidationError):
        schemas.ConsumerIn.model_validate({"name": "c", "login": {"username": 7, "password": "x" * 8}})
    with pytest.raises(ValidationError):
        schemas.MerchantIn.model_validate({"name": "m", "category": "retail", "channel": "mall",
                                           "region_id": 1, "accepts_vouchers": "yes"})
