"""Schema-driven fuzzing of the whole API, as a user of every role.

Each operation of the OpenAPI document (drf-spectacular's, the one served at /api/schema/) is
fuzzed with schemathesis as a user of each role (``tenancy.models.Role``), authenticated with a
real API token, against the demo data set (``seed_demo``, see conftest.py). Cases are drawn from:

- valid requests whose path ids are real objects of the caller's tenant (acme-capital's trading
  data or globex-goods' commerce data, named with ``X-Tenant``);
- valid requests with generated path ids (mostly missing objects);
- invalid requests (schemathesis' negative mode: wrong types, missing fields, bad formats).

Every response must pass ``not_a_server_error`` (no 5xx), ``status_code_conformance`` (the
status is documented), ``content_type_conformance``, ``response_headers_conformance`` and
``response_schema_conformance`` (the body matches the documented schema, the error body too).

Bounded for CI: ``FUZZ_MAX_EXAMPLES`` examples per operation and role (default 5),
derandomized (the same cases every run), no deadline, no example database. Raise
``FUZZ_MAX_EXAMPLES`` locally for a deeper run.

Excluded, and why:

- ``POST /api/v1/auth/token/``: throttled per client address, so fuzzing it tests the
  throttle's budget rather than the endpoint; it takes no token. Its answers (good and bad
  credentials, malformed bodies, the throttle) are checked in test_throttling_and_secrets.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.conftest import ROLES, VICTIM_TENANTS, Demo
from tests.hostile.schema import SCHEMA, operations

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
EXCLUDED = {("POST", "/api/v1/auth/token/")}
OPERATIONS = [op for op in operations() if op not in EXCLUDED]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@pytest.fixture
def in_process_wsgi() -> Iterator[None]:
    """Keep the test's connection open across requests, as Django's test client does: the
    handler's end-of-request ``close_old_connections`` would close it inside the test's
    transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def case_strategies(operation: Any, demo: Demo) -> st.SearchStrategy[Any]:
    strategies = []
    for slug in VICTIM_TENANTS:
        header = {"X-Tenant": slug}
        real = demo.values_for(slug, operation.path)
        params = [{name: values[i % len(values)] for name, values in real.items()} for i in (0, 1)]
        has_params = "{" in operation.path
        if has_params and len(real) == operation.path.count("{"):
            for fixed in params:
                strategies.append(operation.as_strategy(path_parameters=fixed, headers=header))
            strategies.append(
                operation.as_strategy(
                    GenerationMode.NEGATIVE, path_parameters=params[0], headers=header
                )
            )
        else:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, headers=header))
        strategies.append(operation.as_strategy(headers=header))
    return st.one_of(strategies)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_for_every_role(
    demo: Demo, db: Any, in_process_wsgi: None, role: str, method: str, path: str
) -> None:
    # given a user of this role in the demo tenants and the operation's documented contract
    operation = SCHEMA[path][method]
    token = demo.token_for(f"fuzz.{role}")

    # when schemathesis sends generated requests, then every answer keeps the contract
    @FUZZ_SETTINGS
    @given(case=case_strategies(operation, demo))
    def fuzz(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)

    fuzz()
