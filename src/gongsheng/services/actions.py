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

from gongsheng.services.idempotency import check_key, request_hash, same_request
from gongsheng.services.ports.work import Work


def run_keyed(uow: Work, action: str, party_id: int, key: str, body: Mapping[str, Any],
              apply: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """``(answer, replayed)``: the stored answer of ``key``, or ``apply()``'s, stored with it.

    The caller takes the lock that serialises such writes first, so that a retry sent while the
    first request still runs waits for it and then finds its answer.
    """
    check_key(key)
    scoped = f"{action}:{party_id}:{key}"
    body_hash = request_hash(body)
    prior = uow.requests.action(scoped)
    if prior is not None:
        same_request(prior[0], body_hash, key)
        return dict(json.loads(prior[1])), True
    answer = apply()
    uow.requests.add_action(scoped, action, body_hash, json.dumps(answer, sort_keys=True))
    return answer, False
