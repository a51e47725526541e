"""Compliance writes naming acme-capital's accounts, instruments, users, orders, alerts and
configuration, sent by initech's compliance staff and traders: refused exactly like writes
naming objects that exist nowhere, and nothing stored (see ``probing.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.models import (
    Alert,
    AlertAction,
    AlertNote,
    KillSwitch,
    Locate,
    Override,
    RestrictedListEntry,
    Rule,
    WatchListEntry,
)
from orders.models import Order, OrderEvent
from tests.hostile.conftest import PROBE_TENANT, api_as
from tests.hostile.probing import Desk, Probe, probe_refused_like_unknown

pytestmark = pytest.mark.django_db

K = "/api/v1/compliance"
RULES = (Rule,)
LISTS = (RestrictedListEntry, WatchListEntry)
ALERTS = (Alert, AlertAction, AlertNote)
SWITCHES = (KillSwitch, Order, OrderEvent)


def victim(key: str) -> Any:
    return lambda d: d.victim[key]


def own(key: str) -> Any:
    return lambda d: d.own[key]


def _rule(scope: str, value: Any) -> dict[str, Any]:
    body = {"name": f"probe {scope} cap", "kind": "max_quantity", "params": {"max": "500"}}
    return {**body, "scope": scope, scope: value}


def _scoped(name: str) -> list[Probe]:
    """A rule created for, and the prober's own rule changed to, the victim's ``name``."""
    return [
        Probe(
            f"rule scoped to another tenant's {name}",
            "compliance_officer",
            "POST",
            lambda d, v: (f"{K}/rules/", _rule(name, v)),
            victim(name),
            name,
            RULES,
            own=own(name),
        ),
        Probe(
            f"rule changed to another tenant's {name}",
            "compliance_officer",
            "PATCH",
            lambda d, v: (f"{K}/rules/{d.own['rule']}/", {"scope": name, name: v}),
            victim(name),
            name,
            RULES,
            own=own(name),
        ),
    ]


def _list_entry(path: str) -> Probe:
    return Probe(
        f"{path} entry for another tenant's instrument",
        "compliance_officer",
        "POST",
        lambda d, v: (f"{K}/{path}/", {"instrument": v, "reason": "probe"}),
        victim("instrument"),
        "instrument",
        LISTS,
        own=own("instrument"),
    )


def _locate(name: str) -> Probe:
    def request(d: Desk, value: Any) -> tuple[str, Any]:
        body = {"account": d.own["account"], "instrument": d.own["instrument"], name: value}
        return f"{K}/locates/", {**body, "quantity": "100", "date": "2024-01-02"}

    return Probe(
        f"locate for another tenant's {name}",
        "compliance_officer",
        "POST",
        request,
        victim(name),
        name,
        (Locate,),
        own=own(name),
    )


def _kill_switch(name: str) -> Probe:
    return Probe(
        f"kill switch scoped to another tenant's {name}",
        "compliance_officer",
        "POST",
        lambda d, v: (f"{K}/kill-switch/", {"scope": name, name: v, "reason": "probe"}),
        victim(name),
        name,
        SWITCHES,
        own=own(name),
    )


BODY_NAMES = [
    *_scoped("account"),
    *_scoped("instrument"),
    *_scoped("trader"),
    *[_list_entry(path) for path in ("restricted-list", "watch-list")],
    *[_locate(name) for name in ("account", "instrument")],
    *[_kill_switch(name) for name in ("account", "trader")],
    # The order an override is asked for, and the alerts a bulk assignment moves, are the
    # subjects of the write (like a path id): another tenant's answers 404 like a missing one.
    Probe(
        "override of another tenant's order",
        "trader",
        "POST",
        lambda d, v: (f"{K}/overrides/", {"order": v, "justification": "probe"}),
        victim("order"),
        None,
        (Override, OrderEvent),
    ),
    Probe(
        "alert assigned to another tenant's officer",
        "compliance_officer",
        "POST",
        lambda d, v: (f"{K}/alerts/{d.own['alert']}/assign/", {"assigned_to": v}),
        victim("officer"),
        "assigned_to",
        ALERTS,
        own=own("officer"),
    ),
    Probe(
        "alerts assigned in bulk to another tenant's officer",
        "compliance_officer",
        "POST",
        lambda d, v: (
            f"{K}/alerts/assign/",
            {"alert_ids": [d.own["alert"]], "assigned_to": v},
        ),
        victim("officer"),
        "assigned_to",
        ALERTS,
        own=own("officer"),
    ),
    Probe(
        "another tenant's alert assigned in bulk",
        "compliance_officer",
        "POST",
        lambda d, v: (
            f"{K}/alerts/assign/",
            {"alert_ids": [d.own["alert"], v], "assigned_to": d.own["officer"]},
        ),
        victim("alert"),
        None,
        ALERTS,
        own=own("other_alert"),
    ),
    Probe(
        "alert closed as a duplicate of another tenant's alert",
        "compliance_officer",
        "POST",
        lambda d, v: (
            f"{K}/alerts/{d.own['reviewed_alert']}/propose-close/",
            {"disposition": "duplicate", "duplicate_of": v, "reason": "probe"},
        ),
        victim("alert"),
        "duplicate_of",
        ALERTS,
        own=own("other_alert"),
    ),
]


@pytest.mark.parametrize("probe", BODY_NAMES, ids=[p.name for p in BODY_NAMES])
def test_a_compliance_write_naming_another_tenants_object_is_refused_like_an_unknown_name(
    demo: Any, probe_desk: Desk, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_desk, probe)


def _path(
    template: str, key: str, body: Any, *, role: str = "compliance_officer", method: str = "POST"
) -> Probe:
    """A write on another tenant's object named by its id in the path."""
    return Probe(
        f"{method} {template}",
        role,
        method,
        lambda d, v: (f"{K}{template.format(id=v)}", body(d) if callable(body) else body),
        victim(key),
        None,
        (*RULES, *LISTS, *ALERTS, *SWITCHES, Override, Locate),
    )


REASON = {"reason": "probe"}
PATH_IDS = [
    _path("/rules/{id}/", "rule", {"name": "probe"}, method="PATCH"),
    _path("/rules/{id}/", "rule", None, method="DELETE"),
    _path("/restricted-list/{id}/", "restricted", None, method="DELETE"),
    _path("/watch-list/{id}/", "watched", None, method="DELETE"),
    _path("/kill-switch/{id}/release/", "kill_switch", REASON),
    _path("/overrides/{id}/approve/", "override", {}),
    _path("/overrides/{id}/refuse/", "override", REASON),
    _path("/orders/{id}/fraud-release/", "sales_order", REASON),
    _path("/alerts/{id}/assign/", "alert", lambda d: {"assigned_to": d.own["officer"]}),
    _path("/alerts/{id}/start-review/", "alert", None),
    _path("/alerts/{id}/escalate/", "alert", REASON),
    _path("/alerts/{id}/deescalate/", "alert", REASON),
    _path("/alerts/{id}/propose-close/", "alert", {"disposition": "false_positive"}),
    _path("/alerts/{id}/approve-close/", "alert", REASON),
    _path("/alerts/{id}/refuse-close/", "alert", REASON),
    _path("/alerts/{id}/reopen/", "alert", REASON),
    _path("/alerts/{id}/notes/", "alert", {"text": "probe"}),
]


@pytest.mark.parametrize("probe", PATH_IDS, ids=[p.name for p in PATH_IDS])
def test_a_compliance_write_on_another_tenants_object_answers_404_like_a_missing_one(
    demo: Any, probe_desk: Desk, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_desk, probe)


def test_a_rule_name_another_tenant_uses_is_free_for_the_prober(
    demo: Any, probe_desk: Desk
) -> None:
    theirs = Rule.objects.all_tenants(reason="probe").get(pk=probe_desk.victim["rule"])
    owners = Rule.objects.all_tenants(reason="probe").filter(name=theirs.name)
    before = sorted(owners.values_list("tenant__slug", flat=True))
    assert PROBE_TENANT not in before
    api = api_as(demo, "probe.compliance_officer", PROBE_TENANT)
    body = {"name": theirs.name, "kind": "max_quantity", "params": {"max": "500"}}
    response = api.post(f"{K}/rules/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == theirs.name
    assert sorted(owners.values_list("tenant__slug", flat=True)) == sorted([*before, PROBE_TENANT])
