"""Webhook deliveries over HTTP: Standard Webhooks signatures and a POST with timeouts.

Headers (https://www.standardwebhooks.com): ``webhook-id`` (the event id, the same on every
retry), ``webhook-timestamp`` (seconds since the epoch, at this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per valid secret,
space separated: during a secret's rotation both the new and the old one sign). A receiver
verifies with ``standardwebhooks.Webhook(secret).verify(body, headers)``.

The sender resolves the target's host before each attempt and refuses one that resolves to a
private or loopback address unless allowed; redirects are not followed.
"""

from __future__ import annotations

import base64
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.webhooks import refused_address, target_host

SECRET_PREFIX = "whsec_"
USER_AGENT = "gongsheng-webhooks/1"


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` and 32 random bytes in base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(msg_id: str, when: datetime, body: str, keys: Sequence[str]) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` signed with every secret in ``keys``."""
    signatures = " ".join(Webhook(k).sign(msg_id, when, body) for k in keys)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": USER_AGENT}


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address."""
    host = target_host(url)
    if allow_private:
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise InvalidInput(f"the webhook host {host!r} does not resolve") from None
    refused = refused_address(sorted(addresses))
    if refused is not None:
        raise InvalidInput(f"the webhook host {host!r} resolves to {refused}, a private or "
                           "loopback address (set GONGSHENG_WEBHOOKS_ALLOW_PRIVATE=1 to allow)")


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the HTTP status (None without an answer), the time and an error."""

    status: int | None
    latency_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HttpSender:
    """POSTs signed deliveries with ``httpx`` (one connection pool per worker)."""

    def __init__(self, *, timeout_s: float = 10.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)

    def send(self, url: str, msg_id: str, body: str, keys: Sequence[str]) -> Outcome:
        start = time.perf_counter()
        try:
            check_target(url, allow_private=self.allow_private)
            headers = signed_headers(msg_id, datetime.now(UTC), body, keys)
            answer = self.client.post(url, content=body.encode(), headers=headers)
        except InvalidInput as err:
            return Outcome(None, _ms(start), err.detail[:500])
        except httpx.HTTPError as err:
            return Outcome(None, _ms(start), f"{type(err).__name__}: {err}"[:500])
        error = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        return Outcome(answer.status_code, _ms(start), error)

    def close(self) -> None:
        self.client.close()


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)
