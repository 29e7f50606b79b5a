"""Schemathesis against the live OpenAPI document: no 5xx, and every response conforms to it.

Each operation gets a few generated requests, valid and invalid (bounded, derandomised), sent
as the admin to an app over the worked example's city on SQLite. Every status, content type and
body must match what ``/openapi.json`` declares (problem+json for errors). Schema-valid requests may still be
refused by the engine's rules (an infeasible contract, an unknown referrer code: 422), so the
"positive data is accepted" check is left out. The operations are driven from one
test (schemathesis' pytest fixture loader does not support this pytest version).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gongsheng.services.platform import Platform

from .conftest import Api, make_api

EXAMPLES = 5


@pytest.fixture
def live(new_database: Callable[[str], str], open_platform: Callable[..., Platform]) -> Iterator[Api]:
    from conftest import build_city  # tests/conftest.py

    yield from make_api(build_city(open_platform(new_database("sqlite"))))


def test_every_operation_conforms_to_the_schema(live: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", live.client.app)
    admin = live.headers["admin"]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 21
    # signing out ends the admin's token: run it last so that every other operation is reached
    operations.sort(key=lambda operation: operation.path.endswith("/auth/logout"))

    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(headers=admin, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid: the operation takes no input
            assert mode is GenerationMode.NEGATIVE
        except Exception as err:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label} ({mode.value}): {str(err).strip()[:2000]}")
    assert not failures, "\n\n".join(failures)
