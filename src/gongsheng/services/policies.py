"""Policy versions: list them, and schedule an uploaded policy (TOML) from the next period.

A stored version never changes; a new policy is a new version (or the existing one with the same
content), activated from the period after the open one (:func:`books.schedule_policy`), so the
open period keeps the rules its orders were placed under.
"""

from __future__ import annotations

from typing import Any

from gongsheng.adapters.policy_file import parse_policy_text
from gongsheng.domain.events import PolicyVersionScheduled
from gongsheng.domain.policy import Policy
from gongsheng.services.books import schedule_policy
from gongsheng.services.ports.work import Stores, Work


def parse_policy(text: str) -> Policy:
    """The validated policy in a TOML text (bounded in size and depth); :class:`PolicyError`
    otherwise."""
    return parse_policy_text(text, "the policy")


def versions(stores: Stores) -> dict[str, Any]:
    """Every stored version and the one the open period uses."""
    current = stores.periods.open_period()
    return {"open_period": current.seq, "current_version_id": current.policy_version_id,
            "versions": [{"version_id": v.version_id, "name": v.name, "digest": v.digest,
                          "active_from_period": v.active_from_period, "created_at": v.created_at}
                         for v in stores.policies.listed()]}


def schedule_toml(uow: Work, text: str) -> dict[str, Any]:
    """Validate a TOML policy and schedule it from the next period (the caller commits)."""
    policy = parse_policy(text)
    version, period = schedule_policy(uow, policy)
    uow.record(PolicyVersionScheduled(period=period - 1, version_id=version, name=policy.name,
                                      digest=policy.digest, active_from_period=period))
    uow.audit("policy.uploaded", f"policy:{version}", {
        "name": policy.name, "digest": policy.digest, "active_from_period": period})
    return {"version_id": version, "name": policy.name, "digest": policy.digest,
            "active_from_period": period}
