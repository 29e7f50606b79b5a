"""policy_file: a policy text is bounded in size and nesting before it is parsed.

A text nested thousands of levels deep made the TOML parser recurse until the interpreter gave
up (a ``RecursionError`` that crashed the request); it is now a :class:`PolicyError` naming the
depth. The depth scanner is checked against the parser on generated nested arrays.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.adapters.policy_file import (
    MAX_POLICY_CHARS,
    MAX_POLICY_DEPTH,
    default_policy_text,
    load_policy,
    nesting_depth,
    parse_policy_text,
)
from gongsheng.domain.errors import PolicyError


def deep_array(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("text", [
    deep_array(5_000),
    "x = " + "{a = " * 3_000 + "1" + "}" * 3_000 + "\n",
    default_policy_text() + deep_array(MAX_POLICY_DEPTH + 1),
], ids=["arrays", "inline-tables", "after-a-valid-policy"])
def test_a_deeply_nested_text_is_a_policy_error_not_a_crash(text: str) -> None:
    with pytest.raises(PolicyError, match="deep"):
        parse_policy_text(text)


def test_an_oversized_text_is_refused_before_it_is_parsed() -> None:
    text = default_policy_text() + "#" * MAX_POLICY_CHARS
    with pytest.raises(PolicyError, match=f"at most {MAX_POLICY_CHARS}"):
        parse_policy_text(text)


def test_a_file_is_read_no_further_than_the_bound(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (4 * MAX_POLICY_CHARS + 10))
    with pytest.raises(PolicyError, match="larger than a policy may be"):
        load_policy(big)
    nested = tmp_path / "nested.toml"
    nested.write_text(deep_array(5_000), encoding="utf-8")
    with pytest.raises(PolicyError, match="5000 deep"):
        load_policy(nested)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)


def test_the_default_policy_is_well_within_the_bounds() -> None:
    text = default_policy_text()
    assert len(text) < MAX_POLICY_CHARS // 10
    assert 1 <= nesting_depth(text) <= 3
    assert load_policy().name == "default"


# --- the scanner agrees with the parser ---------------------------------------------------------

_NOISE = st.sampled_from(['"[["', "'{{['", '"a]\\"["', '"""[\n{"""', "'''x]]'''", "1", '""'])
Nested = Any


def _render(value: Nested) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _depth(value: Nested) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


nested_values = st.recursive(_NOISE, lambda inner: st.lists(inner, max_size=3), max_leaves=12)


@given(nested_values, st.booleans())
def test_the_depth_scanner_counts_what_the_parser_nests(value: Nested, comment: bool) -> None:
    """Brackets inside strings (every TOML string form) and comments are not nesting."""
    text = f"x = {_render(value)}" + ("  # [[[ {{{\n" if comment else "\n")
    tomllib.loads(text)  # the generated text is valid TOML
    assert nesting_depth(text) == _depth(value)
