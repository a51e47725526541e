"""The machinery of the cross-tenant write probes (``test_cross_tenant_writes*.py``).

A probe sends one write twice as a user of the probing tenant: once naming a victim's object
(by id, code, SKU or symbol, in the body or in the path), once naming an object that exists
nowhere. Both answers must be the same refusal (status and body, the named value itself
blanked out): a 400 naming the field for a name in the body, a 404 for an id in the path. And
the tables the write would touch hold the same rows before and after (as many, every column
equal). Where the prober has an object of the same kind, the same write naming it is sent last
and must be accepted: the control that shows the name is looked up, and that nothing else in
the write was wrong.

The worlds the probes run in are built once per test module on top of the demo data set
(``conftest.py``): the probing tenant gets a shop of its own (codes no victim has), so that
each write is valid but for the one name it probes; the victims get the objects the demo has
none of (a return, a received return, a reservation, a victim-only instrument).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Model
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from tests.hostile.conftest import PROBE_TENANT, Demo, api_as, list_items

WHY = "cross-tenant write probe"
UNKNOWN_ID = 987654321
UNKNOWN_CODE = "NOWHERE-1"


def stored(models: Sequence[type[Model]]) -> dict[str, tuple[int, list[tuple[Any, ...]]]]:
    """Every tenant's rows of each model: their number, and every column of each."""
    out: dict[str, tuple[int, list[tuple[Any, ...]]]] = {}
    for model in models:
        rows = model.objects.all_tenants(reason=WHY)  # type: ignore[attr-defined]
        columns = [f.attname for f in model._meta.concrete_fields]
        out[model._meta.label] = (rows.count(), list(rows.order_by("pk").values_list(*columns)))
    return out


def _normalised(response: Any, value: Any) -> tuple[int, Any]:
    """The answer with the named value itself (whole tokens only) blanked out."""
    text = response.content.decode(errors="replace")
    token = re.escape(str(value))
    text = re.sub(rf"(?<![0-9A-Za-z_-]){token}(?![0-9A-Za-z_-])", "<NAME>", text)
    return response.status_code, json.loads(text) if text else None


def send(api: APIClient, method: str, url: str, body: Any) -> Any:
    call = getattr(api, method.lower())
    if body is None:
        return call(url)
    return call(url, json.dumps(body), content_type="application/json")


@dataclass(frozen=True)
class Probe:
    """One write naming one object: ``request(world, value) -> (url, body)``."""

    name: str
    role: str
    method: str
    request: Callable[[Any, Any], tuple[str, Any]]
    victim: Callable[[Any], Any]
    # the error key of a refused name (400; "a/b" when nested); None: the write's subject
    # (a path id): 404
    field: str | None
    models: tuple[type[Model], ...]
    unknown: Any = UNKNOWN_ID
    # the same write naming the prober's own object instead: accepted (the control that shows
    # the name is looked up, and that the rest of the write is valid)
    own: Callable[[Any], Any] | None = None


def probe_refused_like_unknown(demo: Demo, world: Any, probe: Probe) -> dict[str, Any]:
    """Runs ``probe``; returns the (normalised) refusal body after asserting it."""
    api = api_as(demo, f"probe.{probe.role}", PROBE_TENANT)
    victim = probe.victim(world)
    assert victim is not None
    assert str(victim) != str(probe.unknown)
    before = stored(probe.models)
    answers = []
    for value in (victim, probe.unknown):
        url, body = probe.request(world, value)
        answers.append(_normalised(send(api, probe.method, url, body), value))
    foreign, unknown = answers
    assert foreign == unknown, (probe.name, foreign, unknown)
    status, body = foreign
    if probe.field is None:
        assert (status, body) == (404, {"code": "not_found", "detail": body["detail"]})
    else:
        assert status == 400, (probe.name, body)
        errors = body["errors"]
        for key in probe.field.split("/"):  # nested errors: "quotes/0/venue"
            assert list(errors) == [key], (probe.name, body)
            errors = errors[key]
    assert stored(probe.models) == before
    if probe.own is not None:
        url, sent = probe.request(world, probe.own(world))
        control = send(api, probe.method, url, sent)
        assert control.status_code in (200, 201), (probe.name, control.content)
    return dict(body)


# --- worlds -----------------------------------------------------------------------------------


def created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), (response.status_code, response.content)
    data: dict[str, Any] = response.json()
    return data


def in_days(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


@dataclass
class Shop:
    """The probing tenant's own commerce objects (ids), and the victim's to name."""

    warehouse: int = 0
    other_warehouse: int = 0
    product: int = 0
    sku: str = ""
    customer: int = 0
    address: int = 0
    channel: int = 0
    channel_code: str = ""
    allocated_order: int = 0  # routed, allocated, no fulfilment
    allocation: int = 0
    picking_order: int = 0  # one pending fulfilment
    picking_line: int = 0
    fulfilment: int = 0
    shipped_order: int = 0  # shipped in full, paid (captured), a received return
    shipped_line: int = 0
    payment: int = 0
    received_return: int = 0
    approved_return: int = 0  # on shipped_order too, approved, not yet received
    reservation: int = 0
    fx_rate: int = 0
    # the victim's (globex-goods)
    victim: dict[str, Any] = field(default_factory=dict)


def _order(api: APIClient, shop: Shop, external_id: str, quantity: str = "2") -> dict[str, Any]:
    return created(
        api.post(
            "/api/v1/commerce/orders/",
            {
                "channel": shop.channel_code,
                "external_id": external_id,
                "currency": "USD",
                "customer": shop.customer,
                "shipping_address_id": shop.address,
                "lines": [{"sku": shop.sku, "quantity": quantity, "unit_price": "10.00"}],
            },
            format="json",
        )
    )


def _ship_in_full(api: APIClient, order_id: int) -> int:
    rows = created(api.post(f"/api/v1/commerce/orders/{order_id}/fulfilments/", {}, format="json"))
    fulfilment = int(rows[0]["id"])  # type: ignore[index]
    created(
        api.post(
            f"/api/v1/commerce/fulfilments/{fulfilment}/ship/", {"carrier": "UPS"}, format="json"
        )
    )
    return fulfilment


def shop_build(demo: Demo) -> Shop:
    """The probing tenant's shop, built through the API as its administrator."""
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    shop = Shop(sku="PRB-SKU-1", channel_code="PRB-WEB")
    with TestCase.captureOnCommitCallbacks(execute=True):
        for attr, code, city in (
            ("warehouse", "PRB-CHI", "Chicago"),
            ("other_warehouse", "PRB-DAL", "Dallas"),
        ):
            body = {"code": code, "name": code, "city": city, "country": "US"}
            setattr(
                shop,
                attr,
                created(api.post("/api/v1/commerce/warehouses/", body, format="json"))["id"],
            )
        shop.product = created(
            api.post(
                "/api/v1/commerce/products/",
                {
                    "sku": shop.sku,
                    "name": "Probe widget",
                    "prices": [{"currency": "USD", "amount": "10.00"}],
                },
                format="json",
            )
        )["id"]
        for warehouse in (shop.warehouse, shop.other_warehouse):
            created(
                api.post(
                    "/api/v1/commerce/stock/receive/",
                    {"warehouse": warehouse, "product": shop.product, "quantity": "100"},
                    format="json",
                )
            )
        shop.customer = created(
            api.post(
                "/api/v1/commerce/customers/",
                {"name": "Peter Gibbons", "email": "peter@initech.example", "country": "US"},
                format="json",
            )
        )["id"]
        shop.address = created(
            api.post(
                f"/api/v1/commerce/customers/{shop.customer}/addresses/",
                {"line1": "1 Initech Way", "city": "Chicago", "country": "US"},
                format="json",
            )
        )["id"]
        shop.channel = created(
            api.post(
                "/api/v1/commerce/channels/",
                {
                    "code": shop.channel_code,
                    "name": "Probe web shop",
                    "kind": "web",
                    "currency": "USD",
                },
                format="json",
            )
        )["id"]
        shop.allocated_order = _order(api, shop, "PRB-1")["id"]
        shop.picking_order = _order(api, shop, "PRB-2")["id"]
        shop.shipped_order = _order(api, shop, "PRB-3", quantity="4")["id"]
    detail = created(api.get(f"/api/v1/commerce/orders/{shop.allocated_order}/"))
    shop.allocation = detail["allocations"][0]["id"]
    rows = created(
        api.post(f"/api/v1/commerce/orders/{shop.picking_order}/fulfilments/", {}, format="json")
    )
    shop.fulfilment = rows[0]["id"]  # type: ignore[index]
    shop.picking_line = rows[0]["lines"][0]["line"]  # type: ignore[index]
    orders = "/api/v1/commerce/orders"
    with TestCase.captureOnCommitCallbacks(execute=True):
        _ship_in_full(api, shop.shipped_order)
        detail = created(api.get(f"{orders}/{shop.shipped_order}/"))
        shop.shipped_line = detail["lines"][0]["id"]
        pay = {"amount": "40.00", "idempotency_key": "prb-auth-1"}
        paid = created(api.post(f"{orders}/{shop.shipped_order}/payments/", pay, format="json"))
        shop.payment = paid["payment"]["id"]
        capture = {"amount": "40.00", "idempotency_key": "prb-capture-1"}
        created(
            api.post(f"/api/v1/commerce/payments/{shop.payment}/capture/", capture, format="json")
        )
        lines = [{"line": shop.shipped_line, "quantity": "2"}]
        ret = created(
            api.post(f"{orders}/{shop.shipped_order}/returns/", {"lines": lines}, format="json")
        )
        shop.received_return = ret["id"]
        returns = f"/api/v1/commerce/returns/{shop.received_return}"
        created(api.post(f"{returns}/approve/", {}, format="json"))
        created(api.post(f"{returns}/receive/", {"warehouse": "PRB-CHI"}, format="json"))
        lines = [{"line": shop.shipped_line, "quantity": "1"}]
        ret = created(
            api.post(f"{orders}/{shop.shipped_order}/returns/", {"lines": lines}, format="json")
        )
        shop.approved_return = ret["id"]
        created(api.post(f"/api/v1/commerce/returns/{ret['id']}/approve/", {}, format="json"))
        shop.reservation = created(
            api.post(
                "/api/v1/commerce/reservations/",
                {
                    "warehouse": shop.warehouse,
                    "product": shop.product,
                    "quantity": "1",
                    "expires_at": in_days(1),
                },
                format="json",
            )
        )["id"]
        rate = {"date": "2024-01-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.1"}
        shop.fx_rate = created(api.post("/api/v1/commerce/fx-rates/", rate, format="json"))["id"]
    shop.victim = victim_shop_extras(demo)
    return shop


def victim_shop_extras(demo: Demo) -> dict[str, Any]:
    """globex-goods' objects the probes name: the demo's, plus a shipped order with an
    approved return and a reservation, made through the API as its administrator."""
    api = api_as(demo, "fuzz.admin", "globex-goods")
    orders = "/api/v1/commerce/orders"
    found = list_items(created(api.get(f"{orders}/", {"external_id": "WEB-1002"})))
    order = found[0]["id"]
    victim: dict[str, Any] = {"order": order}
    with TestCase.captureOnCommitCallbacks(execute=True):
        victim["fulfilment"] = _ship_in_full(api, order)
        detail = created(api.get(f"{orders}/{order}/"))
        victim["line"] = detail["lines"][0]["id"]
        victim["allocation"] = detail["allocations"][0]["id"]
        lines = [{"line": victim["line"], "quantity": "1"}]
        ret = created(api.post(f"{orders}/{order}/returns/", {"lines": lines}, format="json"))
        victim["return"] = ret["id"]
        created(api.post(f"/api/v1/commerce/returns/{ret['id']}/approve/", {}, format="json"))
        stock = next(
            row
            for row in list_items(created(api.get("/api/v1/commerce/stock/")))
            if float(row["available"]) >= 1
        )
        victim["warehouse"], victim["warehouse_code"] = stock["warehouse_id"], stock["warehouse"]
        victim["product"], victim["sku"] = stock["product_id"], stock["sku"]
        victim["reservation"] = created(
            api.post(
                "/api/v1/commerce/reservations/",
                {
                    "warehouse": stock["warehouse_id"],
                    "product": stock["product_id"],
                    "quantity": "1",
                    "expires_at": in_days(1),
                },
                format="json",
            )
        )["id"]
    customer = list_items(created(api.get("/api/v1/commerce/customers/")))[0]
    victim["customer"], victim["address"] = customer["id"], customer["addresses"][0]["id"]
    channel = list_items(created(api.get("/api/v1/commerce/channels/")))[0]
    victim["channel"], victim["channel_code"] = channel["id"], channel["code"]
    victim["payment"] = list_items(created(api.get("/api/v1/commerce/payments/")))[0]["id"]
    victim["fx_rate"] = list_items(created(api.get("/api/v1/commerce/fx-rates/")))[0]["id"]
    return victim


@dataclass
class Desk:
    """The probing tenant's trading and compliance objects (``own``) and acme-capital's
    (``victim``) the probes name, by id, code or symbol."""

    own: dict[str, Any] = field(default_factory=dict)
    victim: dict[str, Any] = field(default_factory=dict)


VICTIM_SYMBOL = "ACMEONLY"


def _first(api: APIClient, url: str, **query: Any) -> dict[str, Any]:
    return list_items(created(api.get(url, query)))[0]


def desk_build(demo: Demo) -> Desk:
    """Reads both tenants' objects through their own APIs; adds what the demo lacks: an
    instrument only acme-capital trades, an override of acme-capital's, and initech's alerts
    (one new, one under review by its compliance officer) and a rule."""
    from django.contrib.auth import get_user_model

    from compliance.models import Override
    from compliance.services.alerts import alert_assign, alert_raise, alert_start_review
    from orders.models import Order
    from tenancy.models import Tenant

    users = {u.username: u for u in get_user_model().objects.all()}
    desk = Desk()
    acme = api_as(demo, "fuzz.admin", "acme-capital")
    own = api_as(demo, "probe.admin", PROBE_TENANT)
    instrument = {
        "symbol": VICTIM_SYMBOL,
        "name": "Acme-only listing",
        "asset_class": "equity",
        "currency": "USD",
    }
    v = desk.victim
    response = acme.post("/api/v1/trading/instruments/", instrument, format="json")
    v["instrument"] = created(response)["id"]
    v["symbol"], v["venue"] = VICTIM_SYMBOL, "ACMEX"
    v["account"] = _first(acme, "/api/v1/trading/accounts/", code="C-1002")["id"]
    v["account_code"] = "C-1002"
    v["trade_order"] = _first(acme, "/api/v1/trading/orders/", open_only="true")["id"]
    v["order"] = _first(acme, "/api/v1/orders/")["id"]
    v["trader"], v["officer"] = users["acme.trader"].pk, users["acme.compliance"].pk
    v["alert"] = _first(acme, "/api/v1/compliance/alerts/", status="new")["id"]
    v["kill_switch"] = _first(acme, "/api/v1/compliance/kill-switch/")["id"]
    v["rule"] = _first(acme, "/api/v1/compliance/rules/")["id"]
    v["restricted"] = _first(acme, "/api/v1/compliance/restricted-list/")["id"]
    v["watched"] = _first(acme, "/api/v1/compliance/watch-list/")["id"]
    globex = api_as(demo, "fuzz.admin", "globex-goods")
    v["sales_order"] = _first(globex, "/api/v1/commerce/orders/")["id"]
    tenants = {t.slug: t for t in Tenant.objects.all()}
    v["override"] = Override.objects.create(
        tenant=tenants["acme-capital"],
        order=Order.objects.for_tenant(tenants["acme-capital"]).get(pk=v["order"]),
        requested_by=users["acme.trader"],
        justification="a victim's override",
        expires_at=timezone.now() + timedelta(hours=1),
    ).pk

    o = desk.own
    o["instrument"] = _first(own, "/api/v1/trading/instruments/", symbol="AAPL")["id"]
    o["symbol"], o["venue"] = "AAPL", "XNYS"
    o["account"] = _first(own, "/api/v1/trading/accounts/", code="C-1001")["id"]
    o["account_code"] = "C-1001"
    o["trader"] = users["probe.trader"].pk
    o["officer"] = users["probe.compliance_officer"].pk
    rule = {"name": "probe cap", "kind": "max_quantity", "params": {"max": "1000"}}
    o["rule"] = created(own.post("/api/v1/compliance/rules/", rule, format="json"))["id"]
    tenant, officer = tenants[PROBE_TENANT], users["probe.compliance_officer"]
    alerts = []
    for index in range(3):
        alert = alert_raise(
            tenant=tenant,
            rule="probe",
            severity="medium",
            title=f"probe alert {index}",
            evidence={},
        )
        alerts.append(alert.pk)
    o["alert"], o["reviewed_alert"], o["other_alert"] = alerts
    alert_assign(tenant=tenant, actor=officer, alert_id=alerts[1], assignee=officer)
    alert_start_review(tenant=tenant, actor=officer, alert_id=alerts[1])
    return desk
