"""Policy files (TOML) in and out of the domain's :class:`Policy`.

A policy text is bounded before it is parsed: at most :data:`MAX_POLICY_CHARS` characters and
arrays / inline tables nested at most :data:`MAX_POLICY_DEPTH` deep (a real policy nests three
levels; the TOML parser recurses once per level, so a deeper text could exhaust the stack).
Anything else is a :class:`PolicyError` with one readable sentence, never a crash.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from gongsheng.domain.errors import PolicyError
from gongsheng.domain.policy import Policy, policy_from_mapping

MAX_POLICY_CHARS = 100_000
"""Longest policy text accepted (the packaged default is about 4,000 characters)."""
MAX_POLICY_DEPTH = 16
"""Deepest nesting of brackets and braces accepted (table headers count as one or two)."""
_MAX_UTF8_BYTES = 4 * MAX_POLICY_CHARS  # a character is at most 4 bytes of UTF-8


def default_policy_text() -> str:
    return resources.files("gongsheng.policy").joinpath("default.toml").read_text("utf-8")


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in a TOML text, outside strings and comments.

    A linear scan with no recursion, so it is safe on any input; strings follow TOML's four
    forms (basic with escapes, literal, and their triple-quoted multi-line forms).
    """
    depth = deepest = i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "\"'":
            i = _string_end(text, i)
            continue
        i += 1
    return deepest


def _string_end(text: str, start: int) -> int:
    """The index just after the string that starts at ``start`` (the end of text if unclosed)."""
    quote = text[start]
    n = len(text)
    triple = text.startswith(quote * 3, start)
    i = start + (3 if triple else 1)
    while i < n:
        ch = text[i]
        if ch == "\\" and quote == '"':
            i += 2
            continue
        if ch == quote and (not triple or text.startswith(quote * 3, i)):
            i += 3 if triple else 1
            while triple and i < n and text[i] == quote:  # up to two quotes end the content
                i += 1
            return i
        if ch == "\n" and not triple:
            return i  # a one-line string never spans lines: the parser reports it
        i += 1
    return n


def parse_policy_text(text: str, source: str = "the policy") -> Policy:
    """The validated policy in a TOML text; :class:`PolicyError` (naming ``source``) otherwise."""
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(f"{source} has {len(text)} characters; a policy has at most "
                          f"{MAX_POLICY_CHARS}")
    depth = nesting_depth(text)
    if depth > MAX_POLICY_DEPTH:
        raise PolicyError(f"{source} nests arrays or tables {depth} deep; a policy nests at most "
                          f"{MAX_POLICY_DEPTH} deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source} is not valid TOML: {err}") from None
    except RecursionError:  # not reached within the bound above; kept as a last line of defence
        raise PolicyError(f"{source} is nested too deeply") from None
    return policy_from_mapping(data)


def read_policy_text(path: str | Path) -> str:
    """The text of a policy file, read no further than the bound (so no file can exhaust memory)."""
    try:
        with Path(path).open("rb") as f:
            raw = f.read(_MAX_UTF8_BYTES + 1)
    except OSError as err:
        raise PolicyError(f"cannot read policy file {path}: {err.strerror}") from None
    if len(raw) > _MAX_UTF8_BYTES:
        raise PolicyError(f"policy file {path} is larger than a policy may be "
                          f"({MAX_POLICY_CHARS} characters)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"policy file {path} is not UTF-8 text") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in a TOML file (the packaged default when ``path`` is None), validated."""
    if path is None:
        return parse_policy_text(default_policy_text(), "the default policy")
    return parse_policy_text(read_policy_text(path), f"policy file {path}")


def policy_to_json(policy: Policy) -> str:
    return json.dumps(policy.source, sort_keys=True, default=str)


def policy_from_json(text: str) -> Policy:
    data: Any = json.loads(text)
    return policy_from_mapping(data)
