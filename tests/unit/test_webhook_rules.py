"""Webhook rules (retry schedule, refused targets) and the event docs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.events import EVENT_TYPES
from gongsheng.domain.webhooks import RetrySchedule, refused_address, target_host


def test_the_default_schedule_retries_for_about_a_day() -> None:
    schedule, rng = RetrySchedule(), random.Random(1)
    first = now = 0
    attempts = 1
    while (at := schedule.next_attempt_ms(first, now, attempts, rng)) is not None:
        assert at > now
        now, attempts = at, attempts + 1
    assert 10 <= attempts <= 30
    assert 12 * 3_600_000 <= now <= 24 * 3_600_000


@given(failures=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_delays_grow_to_the_cap_with_jitter_within_half(failures: int, seed: int) -> None:
    schedule = RetrySchedule(base_ms=1_000, cap_ms=60_000, window_ms=10**9)
    full = min(60_000, 1_000 * 2 ** (failures - 1))
    delay = schedule.delay_ms(failures, random.Random(seed))
    assert full // 2 <= delay <= full


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "172.16.0.1",
                                     "169.254.169.254", "::1", "fe80::1", "0.0.0.0", "224.0.0.1",
                                     "::ffff:127.0.0.1", "100.64.0.1"])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refused_address(["93.184.216.34", address]) == address


def test_public_addresses_pass_and_urls_are_checked() -> None:
    assert refused_address(["93.184.216.34", "2606:2800:220:1::1"]) is None
    assert target_host("https://hooks.example.com:8443/x?y=1") == "hooks.example.com"
    for bad in ("ftp://example.com/", "example.com/x", "https://u:p@example.com/", "http:///x"):
        with pytest.raises(InvalidInput):
            target_host(bad)


def test_docs_events_lists_every_event_type() -> None:
    text = (Path(__file__).parents[2] / "docs" / "events.md").read_text("utf-8")
    assert all(f"| `{name}` |" in text for name in EVENT_TYPES)
