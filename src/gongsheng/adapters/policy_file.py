"""Policy files (TOML) in and out of the domain's :class:`Policy`."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from gongsheng.domain.errors import PolicyError
from gongsheng.domain.policy import Policy, policy_from_mapping


def default_policy_text() -> str:
    return resources.files("gongsheng.policy").joinpath("default.toml").read_text("utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in a TOML file (the packaged default when ``path`` is None), validated."""
    if path is None:
        text = default_policy_text()
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as err:
            raise PolicyError(f"cannot read policy file {path}: {err.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"policy file {path or 'default'} is not valid TOML: {err}") from None
    return policy_from_mapping(data)


def policy_to_json(policy: Policy) -> str:
    return json.dumps(policy.source, sort_keys=True, default=str)


def policy_from_json(text: str) -> Policy:
    data: Any = json.loads(text)
    return policy_from_mapping(data)
