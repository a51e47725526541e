"""Cross-tenant probing: a user of initech (every role) against acme-capital's and globex-goods'
objects (the demo data set, see conftest.py).

The endpoints and object kinds come from the API's own OpenAPI document; the victims' object
ids come from the victims' own list endpoints. For each:

- every operation with ids in its path (detail, action, nested list; GET and writes): the
  answer for a victim's id is the answer for an id that exists nowhere (same status, same
  body), never a success, and nothing of the victims changes;
- every list endpoint: none of the victims' objects appears in the prober's list;
- every write whose body names objects by id: naming a victim's object never succeeds and
  changes nothing, plus hand-written valid bodies naming a victim's customer, product,
  warehouse, order, account, instrument, alert or officer: refused with 400/404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from hypothesis import HealthCheck, Phase, given, settings

from tests.hostile.conftest import (
    PARAM,
    PROBE_TENANT,
    ROLES,
    VICTIM_TENANTS,
    Demo,
    api_as,
    list_items,
)
from tests.hostile.schema import OPENAPI, SCHEMA, operations

MISSING = {"code": "NOSUCHCODE", "default": "999999999999"}
WITH_IDS = [op for op in operations() if "{" in op[1]]
PROBE_SETTINGS = settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _is_list(path: str) -> bool:
    schema = OPENAPI["paths"][path]["get"]["responses"].get("200", {})
    body = schema.get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if body.get("type") == "array":
        return True
    return ref.split("/")[-1].startswith("Paginated")


LISTS = [op for op in operations() if op[0] == "GET" and "{" not in op[1] and _is_list(op[1])]


def victims_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every row the victim tenants own (any model with a tenant key)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "tenant" not in names:
            continue
        columns = [f.attname for f in model._meta.concrete_fields]
        rows = (
            model._base_manager.filter(tenant__slug__in=VICTIM_TENANTS)
            .order_by("pk")
            .values_list(*columns)
        )
        out[model._meta.label] = list(rows)
    return out


def _substitute(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], path)


def _missing_for(params: dict[str, str]) -> dict[str, str]:
    return {name: MISSING.get(name, MISSING["default"]) for name in params}


def _normalised(body: bytes, values: dict[str, str]) -> str:
    """The body with the probed ids themselves (whole tokens only) blanked out."""
    text = body.decode(errors="replace")
    for value in sorted(values.values(), key=len, reverse=True):
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", "<ID>", text)
    return text


@pytest.fixture
def snapshot_unchanged(demo: Demo, db: Any) -> Iterator[None]:
    before = victims_snapshot()
    yield
    assert victims_snapshot() == before


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=[f"{m} {p}" for m, p in WITH_IDS])
def test_victims_ids_answer_like_missing_ones(
    demo: Demo, db: Any, snapshot_unchanged: None, method: str, path: str
) -> None:
    # given the victims' real ids for this path, and ids that exist nowhere
    targets = []
    for slug in VICTIM_TENANTS:
        real = demo.values_for(slug, path)
        if len(real) == path.count("{"):
            targets.append({name: values[0] for name, values in real.items()})
    if not targets:
        pytest.skip(f"no victim object for {path} in the demo data")
    operation = SCHEMA[path][method]
    seen: list[tuple[str, int]] = []

    # when initech users of every role send generated requests naming each of them
    @PROBE_SETTINGS
    @given(case=operation.as_strategy())
    def probe(case: Any) -> None:
        body = case.body if isinstance(case.body, (dict, list)) else {}
        query = {k: v for k, v in (case.query or {}).items() if isinstance(v, (str, int))}
        for role in ROLES:
            client = api_as(demo, f"probe.{role}")
            for values in targets:
                answers = []
                missing = _missing_for(values)
                # both answers blank out both sets of ids: a small id (say 2) may also appear
                # in a body for another reason (an index such as "lines[2]")
                blanked = {**{f"v.{k}": v for k, v in values.items()}, **missing}
                for params in (values, missing):
                    url = _substitute(path, params)
                    send = getattr(client, method.lower())
                    if method == "GET":
                        response = send(url, query)
                    else:
                        response = send(url, json.dumps(body), content_type="application/json")
                    answers.append((response.status_code, _normalised(response.content, blanked)))
                # then a victim's object answers exactly like a missing one, and never succeeds
                assert answers[0] == answers[1], (role, method, path, values, answers)
                assert answers[0][0] >= 400, (role, method, path, values, answers)
                seen.append((role, answers[0][0]))

    probe()
    assert seen


@pytest.mark.parametrize(("method", "path"), LISTS, ids=[f"{m} {p}" for m, p in LISTS])
def test_lists_never_include_victims_objects(demo: Demo, db: Any, method: str, path: str) -> None:
    # given the ids of the victims' objects in this list, as the victims see them
    victim_ids: set[Any] = set()
    for slug in VICTIM_TENANTS:
        for role in ROLES:
            response = api_as(demo, f"fuzz.{role}", slug).get(path, {"page_size": 500})
            if response.status_code == 200:
                victim_ids |= {item.get("id") for item in list_items(response.json())}
    victim_ids.discard(None)

    # when an initech user of each role reads the same list
    for role in ROLES:
        response = api_as(demo, f"probe.{role}").get(path, {"page_size": 500})
        # then it is refused, or lists none of them
        assert response.status_code in (200, 400, 403), (role, response.status_code)
        if response.status_code == 200:
            probed = {item.get("id") for item in list_items(response.json())}
            assert not probed & victim_ids, (role, path, probed & victim_ids)
    assert PROBE_TENANT not in VICTIM_TENANTS
