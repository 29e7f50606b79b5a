"""The audit trail's values (审计记录): who acted, and what one operator action changed.

An :class:`Actor` is who a unit of work acts for, named by one string:

- ``<username>``: a signed-in account (API bearer token or web session), by its login name;
- ``apikey:<id>``: an integration key;
- ``cli:<os user>``: a ``gongsheng`` command, by the operating-system user who ran it;
- ``anonymous``: an unauthenticated caller (a consumer's self sign-up, accepting an invitation);
- ``system``: anything else (jobs, the demo builder, tests): the default.

It carries the id of the HTTP request it acts through, when there is one. An
:class:`AuditRecord` is one action: a dotted name (``policy.uploaded``), the object it acted on
(``kind:id``, e.g. ``party:42``) and what changed (a JSON object). Invariant: the name is
lower-case dotted words, the target is non-empty, and the changes are a JSON object of plain
values (no secret ever goes into one: callers pass what changed, never tokens or passwords).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gongsheng.domain.errors import InvalidInput

ACTION_NAME = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
MAX_NAME = 200
SYSTEM_NAME = "system"
ANONYMOUS_NAME = "anonymous"


@dataclass(frozen=True)
class Actor:
    """Who acts (see the module docstring for the forms of ``name``) and through which request."""

    name: str
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > MAX_NAME:
            raise InvalidInput(f"an actor's name has 1 to {MAX_NAME} characters")

    @classmethod
    def api_key(cls, key_id: int | str, request_id: str | None = None) -> Actor:
        return cls(f"apikey:{key_id}", request_id)

    @classmethod
    def cli(cls, os_user: str) -> Actor:
        return cls(f"cli:{os_user or 'unknown'}")


SYSTEM = Actor(SYSTEM_NAME)
ANONYMOUS = Actor(ANONYMOUS_NAME)


@dataclass(frozen=True)
class AuditRecord:
    """One operator action: its dotted name, its target (``kind:id``) and what changed."""

    action: str
    target: str
    changes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.action) > MAX_NAME or not ACTION_NAME.fullmatch(self.action):
            raise ValueError(f"audit action {self.action!r} is not a dotted lower-case name")
        if not self.target or len(self.target) > MAX_NAME:
            raise ValueError(f"audit target must have 1 to {MAX_NAME} characters")
        if not isinstance(self.changes, dict):
            raise ValueError("audit changes must be a JSON object")
