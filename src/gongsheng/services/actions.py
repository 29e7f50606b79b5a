"""Keyed actions: writes that move value but have no table of their own to hold their key.

A store exchange or a profit declaration runs under an ``Idempotency-Key`` like an order: the
first request's answer is stored (``action_requests``) in the same transaction as its effect, so
the same key with the same body returns that answer again and nothing is applied twice; another
body is a conflict (409). Keys are scoped by the action and the acting party, so two parties can
never meet on one key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import insert, select

from gongsheng.adapters import tables as t
from gongsheng.services.idempotency import check_key, request_hash, same_request
from gongsheng.services.unit_of_work import UnitOfWork


def run_keyed(uow: UnitOfWork, action: str, party_id: int, key: str, body: Mapping[str, Any],
              apply: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """``(answer, replayed)``: the stored answer of ``key``, or ``apply()``'s, stored with it.

    The caller takes the lock that serialises such writes first, so that a retry sent while the
    first request still runs waits for it and then finds its answer.
    """
    check_key(key)
    scoped = f"{action}:{party_id}:{key}"
    body_hash = request_hash(body)
    prior = uow.conn.execute(select(t.action_requests.c.request_hash, t.action_requests.c.result)
                             .where(t.action_requests.c.idem_key == scoped)).first()
    if prior is not None:
        same_request(prior.request_hash, body_hash, key)
        return dict(json.loads(prior.result)), True
    answer = apply()
    uow.conn.execute(insert(t.action_requests), {"idem_key": scoped, "action": action,
                                                 "request_hash": body_hash,
                                                 "result": json.dumps(answer, sort_keys=True)})
    return answer, False
