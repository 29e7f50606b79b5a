"""Rate limits: named rules over one moving-window store, answered by 429 with ``Retry-After``.

A :class:`Limiter` holds the rules an app enforces (:data:`SIGN_IN_PER_ADDRESS`,
:data:`SIGN_IN_FAILURES_PER_USERNAME`, :data:`SIGN_UP_PER_ADDRESS`, :data:`REQUESTS_PER_API_KEY`,
configured by :class:`gongsheng.settings.Settings`) and counts hits per rule and key (an
address, a username, an integration key's id) with the ``limits`` package's moving window.
Its store is in memory by default, so each worker process counts on its own (with W workers a
client may get up to W times a limit); a ``limits`` storage URI such as ``redis://host`` in
``GONGSHENG_RATE_LIMIT_STORAGE`` shares the counts between processes.

:meth:`Limiter.hit` counts a hit and refuses one over the limit; :meth:`Limiter.check` refuses
when the limit is already spent, counting nothing (for rules that count failures only: check
before the attempt, hit after it fails). A refusal is :class:`RateLimited`, which the API answers
as a 429 problem with ``Retry-After`` (seconds until the window frees a hit).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gongsheng.domain.errors import GongshengError
from gongsheng.entrypoints.api.errors import problem
from gongsheng.settings import Settings

SIGN_IN_PER_ADDRESS = "sign-in per address"
SIGN_IN_FAILURES_PER_USERNAME = "failed sign-ins per username"
SIGN_UP_PER_ADDRESS = "sign-ups per address"
REQUESTS_PER_API_KEY = "requests per API key"


class RateLimited(GongshengError):
    """Too many requests for one rule and key; retry after ``retry_after`` seconds."""

    title = "Too many requests"
    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Limiter:
    """Named rate limits (``{"sign-in per address": "30/minute", ...}``) on one store."""

    def __init__(self, rules: Mapping[str, str], storage: str = "memory://") -> None:
        self.rules: dict[str, RateLimitItem] = {name: parse(text) for name, text in rules.items()}
        self._window = MovingWindowRateLimiter(storage_from_string(storage))

    def hit(self, rule: str, key: str, *, limit: str | None = None) -> None:
        """Count one hit of ``key`` under ``rule``; :class:`RateLimited` when over the limit.
        ``limit`` (``limits`` notation) replaces the rule's own limit for this key."""
        item = self.rules[rule] if limit is None else _parsed(limit)
        if not self._window.hit(item, rule, key):
            raise self._refusal(rule, item, key)

    def check(self, rule: str, key: str) -> None:
        """:class:`RateLimited` when ``key`` has no hit left under ``rule``; counts nothing."""
        item = self.rules[rule]
        if not self._window.test(item, rule, key):
            raise self._refusal(rule, item, key)

    def clear(self, rule: str, key: str) -> None:
        """Forget ``key``'s hits under ``rule``."""
        self._window.clear(self.rules[rule], rule, key)

    def _refusal(self, rule: str, item: RateLimitItem, key: str) -> RateLimited:
        reset = self._window.get_window_stats(item, rule, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return RateLimited(f"too many requests ({rule}: {item.amount} per {_window_text(item)}); "
                           f"retry in {wait} s", wait)


@lru_cache(maxsize=256)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def _window_text(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def client_address(request: Request) -> str:
    """The caller's address (as the server sees it, after any trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem(exc.status, exc.title, exc.detail, headers={"Retry-After": str(exc.retry_after)})


def install(app: FastAPI, limiter: Limiter) -> None:
    """Keep ``limiter`` on ``app`` and answer its refusals with 429 problems."""
    app.state.limiter = limiter
    app.add_exception_handler(RateLimited, _rate_limited)


def from_settings(settings: Settings) -> Limiter:
    """The limiter of the sign-in, sign-up and API key rules configured in ``settings``."""
    return Limiter({SIGN_IN_PER_ADDRESS: settings.sign_in_limit_per_address,
                    SIGN_IN_FAILURES_PER_USERNAME: settings.sign_in_failures_per_username,
                    SIGN_UP_PER_ADDRESS: settings.sign_up_limit_per_address,
                    REQUESTS_PER_API_KEY: settings.api_key_rate_limit},
                   settings.rate_limit_storage)
