"""Webhook rules (回调): which targets may be called, and when a failed delivery is tried again.

- A target is an ``http``/``https`` URL whose host resolves only to public addresses; private,
  loopback, link-local, multicast, reserved and unspecified ranges are refused unless the
  operator allows them (a receiver inside the same network).
- A failed attempt is tried again after an exponentially growing delay (``base * 2**(n-1)``,
  at most ``cap``) with jitter (x0.5 to x1.0, drawn from the caller's generator), until the next
  try would fall more than ``window`` after the first attempt: then the delivery has failed.
  With the defaults (5 s, 4 h, 24 h) that is about 17 attempts over a day.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from gongsheng.domain.errors import InvalidInput


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff with jitter, given up after ``window_ms`` since the first attempt."""

    base_ms: int = 5_000
    cap_ms: int = 4 * 3_600_000
    window_ms: int = 24 * 3_600_000

    def delay_ms(self, failures: int, rng: random.Random) -> int:
        """The wait after the ``failures``-th failed attempt in a row (1-based)."""
        full = min(self.cap_ms, self.base_ms * 2 ** min(failures - 1, 40))
        return max(1, int(full * (0.5 + rng.random() / 2)))

    def next_attempt_ms(self, first_ms: int, now_ms: int, failures: int,
                        rng: random.Random) -> int | None:
        """When to try again, or None when that would fall outside the window (give up)."""
        at = now_ms + self.delay_ms(failures, rng)
        return at if at - first_ms <= self.window_ms else None


def target_host(url: str) -> str:
    """The host of a webhook URL; :class:`InvalidInput` unless it is an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("a webhook URL must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidInput("a webhook URL must not carry credentials")
    return parts.hostname


def refused_address(addresses: Iterable[str]) -> str | None:
    """The first address that is not public (private, loopback, link-local, ...), or None."""
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return text
    return None
