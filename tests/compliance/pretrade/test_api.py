"""The configuration API: bad input (400 naming the field, nothing stored), another tenant's
objects (404), roles (403), the screening view line by line."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from compliance.models import KillSwitch, RestrictedListEntry, Rule
from tests.compliance.factories import reviewer, rule_make, trade_submit
from tests.conftest import client_for, member
from tests.trading.factories import AccountFactory, InstrumentFactory, QuoteFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/compliance"


@pytest.fixture
def officer_api(tenant: Any) -> Any:
    return client_for(reviewer(tenant, "alpha.officer"))


BAD_RULES = [
    ({"name": "r", "kind": "nope", "params": {}}, "kind"),
    ({"name": "r", "kind": "max_quantity", "params": {}}, "params.max"),
    ({"name": "r", "kind": "max_quantity", "params": {"max": "-1"}}, "params.max"),
    ({"name": "r", "kind": "max_quantity", "params": {"max": "NaN"}}, "params.max"),
    ({"name": "r", "kind": "max_quantity", "params": {"max": "1", "x": 1}}, "params.x"),
    ({"name": "r", "kind": "throttle", "params": {"max_orders": 1.5}}, "params.max_orders"),
    (
        {"name": "r", "kind": "price_collar", "params": {"percent": "5", "reference": "bid"}},
        "params.reference",
    ),
    ({"name": "r", "kind": "max_quantity", "params": "x"}, "params"),
    ({"name": "r", "kind": "max_quantity", "params": {"max": "1"}, "scope": "account"}, "account"),
    ({"name": "r", "kind": "max_quantity", "params": {"max": "1"}, "severity": "loud"}, "severity"),
    (
        {"name": "r", "kind": "issuer_concentration", "params": {"warn": "10", "soft": "5"}},
        "params",
    ),
    ({"name": "", "kind": "max_quantity", "params": {"max": "1"}}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_RULES)
def test_bad_rule_input_is_400_naming_the_field(
    officer_api: Any, tenant: Any, body: dict[str, Any], field: str
) -> None:
    response = officer_api.post(f"{BASE}/rules/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Rule.objects.for_tenant(tenant).count() == 0


def test_rule_create_patch_delete(officer_api: Any, tenant: Any) -> None:
    created = officer_api.post(
        f"{BASE}/rules/",
        {"name": "Max qty", "kind": "max_quantity", "params": {"max": 100}},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["params"] == {"max": "100"}
    rid = created.json()["id"]
    patched = officer_api.patch(f"{BASE}/rules/{rid}/", {"params": {"max": "50"}}, format="json")
    assert patched.json()["params"] == {"max": "50"}
    duplicate = officer_api.post(
        f"{BASE}/rules/",
        {"name": "Max qty", "kind": "max_quantity", "params": {"max": 1}},
        format="json",
    )
    assert duplicate.status_code == 400
    assert "name" in duplicate.json()["errors"]
    assert officer_api.delete(f"{BASE}/rules/{rid}/").status_code == 204
    assert Rule.objects.for_tenant(tenant).get(pk=rid).active is False


def test_trader_reads_but_cannot_configure(tenant: Any) -> None:
    api = client_for(member(tenant, "trader", username="alpha.t"))
    assert api.get(f"{BASE}/rules/").status_code == 200
    denied = api.post(
        f"{BASE}/rules/", {"name": "r", "kind": "max_quantity", "params": {"max": 1}}, format="json"
    )
    assert denied.status_code == 403
    assert (
        api.post(
            f"{BASE}/kill-switch/", {"scope": "tenant", "reason": "x"}, format="json"
        ).status_code
        == 403
    )
    assert Rule.objects.for_tenant(tenant).count() == 0
    assert KillSwitch.objects.for_tenant(tenant).count() == 0


def test_other_tenant_objects_answer_404(officer_api: Any, tenant: Any, other_tenant: Any) -> None:
    foreign_rule = rule_make(other_tenant, "max_quantity", params={"max": "1"})
    foreign_instrument = InstrumentFactory(tenant=other_tenant)
    assert officer_api.get(f"{BASE}/rules/{foreign_rule.pk}/").status_code == 404
    assert (
        officer_api.patch(
            f"{BASE}/rules/{foreign_rule.pk}/", {"active": False}, format="json"
        ).status_code
        == 404
    )
    response = officer_api.post(
        f"{BASE}/restricted-list/",
        {"instrument": foreign_instrument.pk, "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "instrument" in response.json()["errors"]
    assert RestrictedListEntry.objects.all_tenants(reason="test").count() == 0
    assert officer_api.get(f"{BASE}/orders/99999999/screening/").status_code == 404
    assert officer_api.get(f"{BASE}/rules/999999999999999999999/").status_code == 404


def test_list_entry_needs_instrument_or_issuer(officer_api: Any, tenant: Any) -> None:
    response = officer_api.post(f"{BASE}/watch-list/", {"reason": "x"}, format="json")
    assert response.status_code == 400
    assert "instrument" in response.json()["errors"]
    ok = officer_api.post(
        f"{BASE}/watch-list/", {"issuer": "Acme Corp", "reason": "Rumours"}, format="json"
    )
    assert ok.status_code == 201


def test_screening_view_line_by_line(tenant: Any, officer_api: Any) -> None:
    trader = member(tenant, "trader", username="alpha.t")
    instrument = InstrumentFactory(tenant=tenant, symbol="ACME")
    QuoteFactory(
        tenant=tenant,
        instrument=instrument,
        bid=Decimal("99"),
        ask=Decimal("101"),
        last=Decimal("100"),
    )
    rule_make(tenant, "max_quantity", name="Max qty", params={"max": "10"})
    rule_make(tenant, "price_collar", name="Collar", params={"percent": "5"})
    order = trade_submit(
        tenant=tenant,
        actor=trader,
        account=AccountFactory(tenant=tenant),
        instrument=instrument,
        quantity="11",
    )
    body = officer_api.get(f"{BASE}/orders/{order.pk}/screening/").json()
    assert body["status"] == "rejected"
    lines = [(r["rule_name"], r["outcome"], r["severity"], r["values"]) for r in body["results"]]
    assert lines == [
        ("Max qty", "breach", "hard", {"quantity": "11.000000", "max": "10"}),
        (
            "Collar",
            "pass",
            "",
            {
                "limit_price": "100.00000000",
                "reference_price": "100.00000000",
                "deviation_pct": "0",
                "max_pct": "5",
            },
        ),
    ] or [(n, o, s) for n, o, s, _ in lines] == [
        ("Max qty", "breach", "hard"),
        ("Collar", "pass", ""),
    ]


def test_override_api_self_approval_403(tenant: Any) -> None:
    trader = member(tenant, "trader", username="alpha.t")
    instrument = InstrumentFactory(tenant=tenant, symbol="ACME")
    QuoteFactory(tenant=tenant, instrument=instrument, last=Decimal("100"))
    rule_make(tenant, "max_quantity", severity="soft", params={"max": "10"})
    order = trade_submit(
        tenant=tenant,
        actor=trader,
        account=AccountFactory(tenant=tenant),
        instrument=instrument,
        quantity="11",
    )
    officer = reviewer(tenant, "alpha.officer1")
    api = client_for(officer)
    bad = api.post(f"{BASE}/overrides/", {"order": order.pk}, format="json")
    assert bad.status_code == 400
    assert "justification" in bad.json()["errors"]
    created = api.post(
        f"{BASE}/overrides/", {"order": order.pk, "justification": "ok"}, format="json"
    )
    assert created.status_code == 201
    oid = created.json()["id"]
    assert api.post(f"{BASE}/overrides/{oid}/approve/", {}, format="json").status_code == 403
    second = client_for(reviewer(tenant, "alpha.officer2"))
    approved = second.post(f"{BASE}/overrides/{oid}/approve/", {"reason": "fine"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
