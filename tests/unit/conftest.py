"""Fixtures of the domain's unit tests: the default policy, as a mapping and as a Policy."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

import pytest

from gongsheng.domain.policy import Policy, policy_from_mapping


def _default_mapping() -> dict[str, Any]:
    text = resources.files("gongsheng").joinpath("policy/default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


_DEFAULT = _default_mapping()


@pytest.fixture
def policy_data() -> dict[str, Any]:
    """A fresh, mutable copy of the parsed default policy file."""
    return copy.deepcopy(_DEFAULT)


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The default policy, validated (session-scoped, so Hypothesis tests may use it)."""
    return policy_from_mapping(copy.deepcopy(_DEFAULT))
