"""The rate limiter: hits count per rule and key, a refusal says when to retry, check counts nothing."""

from __future__ import annotations

import pytest

from gongsheng.entrypoints.api.limiter import Limiter, RateLimited


def test_hits_over_the_limit_are_refused_per_key_with_a_retry_time() -> None:
    limiter = Limiter({"logins": "3/minute", "signups": "1/hour"})
    for _ in range(3):
        limiter.hit("logins", "10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("logins", "10.0.0.1")
    assert refused.value.status == 429
    assert 1 <= refused.value.retry_after <= 60
    assert "3 per minute" in refused.value.detail
    limiter.hit("logins", "10.0.0.2")  # another key has its own count
    limiter.hit("signups", "10.0.0.1")  # and so has another rule
    with pytest.raises(RateLimited) as hourly:
        limiter.hit("signups", "10.0.0.1")
    assert 60 < hourly.value.retry_after <= 3600
    limiter.clear("logins", "10.0.0.1")
    limiter.hit("logins", "10.0.0.1")


def test_check_refuses_a_spent_limit_without_counting() -> None:
    limiter = Limiter({"failures": "2 per 15 minutes"})
    for _ in range(5):
        limiter.check("failures", "admin")  # checking spends nothing
    limiter.hit("failures", "admin")
    limiter.hit("failures", "admin")
    with pytest.raises(RateLimited) as refused:
        limiter.check("failures", "admin")
    assert "2 per 15 minutes" in refused.value.detail
    assert 60 < refused.value.retry_after <= 900
