"""Commerce writes naming globex-goods' objects, sent by initech's staff: refused exactly like
writes naming objects that exist nowhere, and nothing stored (see ``probing.py``).

Each write is otherwise valid in initech's own shop (``probe_shop``): the one name probed is
the only thing wrong with it.
"""

from __future__ import annotations

from typing import Any

import pytest

from commerce.models import (
    Allocation,
    Channel,
    Customer,
    Fulfilment,
    FulfilmentLine,
    FxRate,
    Invoice,
    Payment,
    PaymentOperation,
    Product,
    Refund,
    RefundLine,
    Reservation,
    Return,
    ReturnLine,
    SalesOrder,
    SalesOrderLine,
    Stock,
    SyncRun,
    TrackingEvent,
    Warehouse,
)
from orders.models import Order, OrderEvent
from tests.hostile.conftest import PROBE_TENANT, Demo, api_as
from tests.hostile.probing import UNKNOWN_CODE, Probe, Shop, in_days, probe_refused_like_unknown

pytestmark = pytest.mark.django_db

C = "/api/v1/commerce"
ENTRY = (Order, OrderEvent, SalesOrder, SalesOrderLine, Allocation, Stock, Reservation)
MONEY = (OrderEvent, Payment, PaymentOperation, Refund, RefundLine, Invoice, Return, ReturnLine)
RETURNS = (OrderEvent, Return, ReturnLine, Stock, Order, SalesOrder, SalesOrderLine)
FULFIL = (OrderEvent, Fulfilment, FulfilmentLine, Allocation, Stock, TrackingEvent)
STOCK = (Stock, Reservation, Warehouse, Product, OrderEvent)


def _order(s: Shop, **changes: Any) -> dict[str, Any]:
    return {
        "channel": s.channel_code,
        "external_id": "PRB-PROBE-1",
        "currency": "USD",
        "customer": s.customer,
        "shipping_address_id": s.address,
        "lines": [{"sku": s.sku, "quantity": "1", "unit_price": "10.00"}],
        **changes,
    }


def _reservation(s: Shop, **changes: Any) -> dict[str, Any]:
    body = {"warehouse": s.warehouse, "product": s.product, "quantity": "1"}
    return {**body, "expires_at": in_days(1), **changes}


def _refund(**changes: Any) -> dict[str, Any]:
    return {"idempotency_key": "prb-refund-probe", **changes}


def victim(key: str) -> Any:
    return lambda s: s.victim[key]


def _stock(action: str, amount: str, name: str) -> Probe:
    def request(s: Shop, value: Any) -> tuple[str, Any]:
        body = {"warehouse": s.warehouse, "product": s.product, amount: "5", name: value}
        return f"{C}/stock/{action}/", body

    return Probe(
        f"stock {action} naming another tenant's {name}",
        "operations",
        "POST",
        request,
        victim(name),
        name,
        STOCK,
        own=lambda s: getattr(s, name),
    )


def _reservation_naming(name: str) -> Probe:
    mine = {"sales_order": "allocated_order"}.get(name, name)
    return Probe(
        f"reservation naming another tenant's {name}",
        "seller",
        "POST",
        lambda s, v: (f"{C}/reservations/", _reservation(s, **{name: v})),
        victim({"sales_order": "order"}.get(name, name)),
        name,
        STOCK,
        own=lambda s: getattr(s, mine),
    )


BODY_NAMES = [
    # -- sales order entry
    Probe(
        "order line naming another tenant's SKU",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/",
            _order(s, lines=[{"sku": v, "quantity": "1", "unit_price": "10.00"}]),
        ),
        victim("sku"),
        "lines[0].sku",
        ENTRY,
        unknown=UNKNOWN_CODE,
        own=lambda s: s.sku,
    ),
    Probe(
        "order for another tenant's customer",
        "seller",
        "POST",
        lambda s, v: (f"{C}/orders/", _order(s, customer=v)),
        victim("customer"),
        "customer",
        ENTRY,
        own=lambda s: s.customer,
    ),
    Probe(
        "order shipping to another tenant's address",
        "seller",
        "POST",
        lambda s, v: (f"{C}/orders/", _order(s, shipping_address_id=v)),
        victim("address"),
        "shipping_address_id",
        ENTRY,
        own=lambda s: s.address,
    ),
    Probe(
        "order exchanging another tenant's order",
        "seller",
        "POST",
        lambda s, v: (f"{C}/orders/", _order(s, exchange_of=v)),
        victim("order"),
        "exchange_of",
        ENTRY,
        own=lambda s: s.shipped_order,
    ),
    # -- allocations and fulfilment
    Probe(
        "allocation moved to another tenant's warehouse",
        "operations",
        "POST",
        lambda s, v: (f"{C}/allocations/{s.allocation}/move/", {"warehouse": v}),
        victim("warehouse"),
        "warehouse",
        (*FULFIL, Allocation),
        own=lambda s: s.other_warehouse,
    ),
    Probe(
        "shipment of another tenant's order line",
        "operations",
        "POST",
        lambda s, v: (
            f"{C}/fulfilments/{s.fulfilment}/ship/",
            {"carrier": "UPS", "lines": [{"line": v, "quantity": "1"}]},
        ),
        victim("line"),
        "lines[0].line",
        FULFIL,
        own=lambda s: s.picking_line,
    ),
    # -- returns and exchanges
    Probe(
        "return of another tenant's order line",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/{s.shipped_order}/returns/",
            {"lines": [{"line": v, "quantity": "1"}]},
        ),
        victim("line"),
        "lines[0].line",
        RETURNS,
        own=lambda s: s.shipped_line,
    ),
    Probe(
        "return into another tenant's warehouse",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/{s.shipped_order}/returns/",
            {"lines": [{"line": s.shipped_line, "quantity": "1"}], "warehouse": v},
        ),
        victim("warehouse_code"),
        "warehouse",
        RETURNS,
        unknown=UNKNOWN_CODE,
        own=lambda s: "PRB-CHI",
    ),
    Probe(
        "return received into another tenant's warehouse",
        "operations",
        "POST",
        lambda s, v: (f"{C}/returns/{s.approved_return}/receive/", {"warehouse": v}),
        victim("warehouse_code"),
        "warehouse",
        RETURNS,
        unknown=UNKNOWN_CODE,
        own=lambda s: "PRB-CHI",
    ),
    Probe(
        "exchange of another tenant's order line",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/returns/{s.received_return}/exchange/",
            {"replacements": [{"line": v}]},
        ),
        victim("line"),
        "replacements[0].line",
        RETURNS,
        own=lambda s: s.shipped_line,
    ),
    Probe(
        "exchange for another tenant's product",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/returns/{s.received_return}/exchange/",
            {"replacements": [{"line": s.shipped_line, "sku": v}]},
        ),
        victim("sku"),
        "replacements[0].sku",
        RETURNS,
        unknown=UNKNOWN_CODE,
        own=lambda s: s.sku,
    ),
    # -- refunds
    Probe(
        "refund of another tenant's order line",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/{s.shipped_order}/refunds/",
            _refund(lines=[{"line": v, "quantity": "1"}]),
        ),
        victim("line"),
        "lines[0].line",
        MONEY,
        own=lambda s: s.shipped_line,
    ),
    Probe(
        "refund to another tenant's payment",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/{s.shipped_order}/refunds/",
            _refund(adjustment="1.00", payment=v),
        ),
        victim("payment"),
        "payment",
        MONEY,
        own=lambda s: s.payment,
    ),
    Probe(
        "refund against another tenant's return",
        "seller",
        "POST",
        lambda s, v: (
            f"{C}/orders/{s.shipped_order}/refunds/",
            _refund(lines=[{"line": s.shipped_line, "quantity": "1"}], **{"return": v}),
        ),
        victim("return"),
        "return",
        MONEY,
        own=lambda s: s.received_return,
    ),
    # -- stock and reservations
    *[
        _stock(action, amount, name)
        for action, amount in (("receive", "quantity"), ("adjust", "on_hand"))
        for name in ("warehouse", "product")
    ],
    *[_reservation_naming(name) for name in ("warehouse", "product", "sales_order")],
    # -- channels
    Probe(
        "channel created with another tenant's store",
        "operations",
        "POST",
        lambda s, v: (
            f"{C}/channels/",
            {
                "code": "PRB-POS",
                "name": "Probe store",
                "kind": "pos",
                "currency": "USD",
                "store": v,
            },
        ),
        victim("warehouse"),
        "store",
        (Channel, Warehouse),
        own=lambda s: s.warehouse,
    ),
    Probe(
        "channel changed to another tenant's store",
        "operations",
        "PATCH",
        lambda s, v: (f"{C}/channels/{s.channel}/", {"store": v}),
        victim("warehouse"),
        "store",
        (Channel, Warehouse),
        own=lambda s: s.warehouse,
    ),
]


@pytest.mark.parametrize("probe", BODY_NAMES, ids=[p.name for p in BODY_NAMES])
def test_a_write_naming_another_tenants_object_is_refused_like_an_unknown_name(
    demo: Demo, probe_shop: Shop, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_shop, probe)


def _path(
    template: str, key: str, body: Any, *, role: str = "seller", method: str = "POST"
) -> Probe:
    """A write on another tenant's object named by its id in the path."""
    return Probe(
        f"{method} {template}",
        role,
        method,
        lambda s, v: (f"{C}{template.format(id=v)}", body(s) if callable(body) else body),
        victim(key),
        None,
        (*ENTRY, *MONEY, *FULFIL, *STOCK, Channel, SyncRun, Customer, FxRate),
    )


TRACKING = {"code": "in_transit", "occurred_at": "2024-01-02T10:00:00+00:00"}
PATH_IDS = [
    _path("/allocations/{id}/move/", "allocation", lambda s: {"warehouse": s.other_warehouse}),
    _path("/orders/{id}/cancel/", "order", {"reason": "probe"}),
    _path("/orders/{id}/fulfilments/", "order", {}, role="operations"),
    _path("/orders/{id}/payments/", "order", {"amount": "1.00", "idempotency_key": "prb-p"}),
    _path("/orders/{id}/refunds/", "order", _refund(adjustment="1.00")),
    _path(
        "/orders/{id}/returns/",
        "order",
        lambda s: {"lines": [{"line": s.victim["line"], "quantity": "1"}]},
    ),
    _path("/payments/{id}/capture/", "payment", {"amount": "1.00", "idempotency_key": "prb-c"}),
    _path("/payments/{id}/void/", "payment", {"idempotency_key": "prb-v"}),
    _path("/payments/{id}/refund/", "payment", {"amount": "1.00", "idempotency_key": "prb-r"}),
    *[
        _path(f"/returns/{{id}}/{step}/", "return", {})
        for step in ("approve", "decline", "receive", "restock", "reject", "exchange")
    ],
    *[
        _path(f"/fulfilments/{{id}}/{step}/", "fulfilment", body, role="operations")
        for step, body in (
            ("pick", {}),
            ("pack", {}),
            ("ship", {"carrier": "UPS"}),
            ("deliver", {}),
            ("cancel", {"reason": "probe"}),
            ("tracking", TRACKING),
        )
    ],
    _path("/reservations/{id}/release/", "reservation", {}),
    _path("/fx-rates/{id}/", "fx_rate", {"rate": "2"}, role="operations", method="PATCH"),
    _path("/fx-rates/{id}/", "fx_rate", None, role="operations", method="DELETE"),
    _path("/channels/{id}/", "channel", {"name": "probe"}, role="operations", method="PATCH"),
    _path("/channels/{id}/", "channel", None, role="operations", method="DELETE"),
    _path("/channels/{id}/sync/", "channel", None),
    _path("/customers/{id}/", "customer", {"name": "probe"}, method="PATCH"),
    _path(
        "/customers/{id}/addresses/",
        "customer",
        {"line1": "1 Probe Way", "city": "Chicago", "country": "US"},
    ),
    _path("/products/{id}/", "product", {"name": "probe"}, method="PATCH"),
    _path("/warehouses/{id}/", "warehouse", {"name": "probe"}, role="operations", method="PATCH"),
]


@pytest.mark.parametrize("probe", PATH_IDS, ids=[p.name for p in PATH_IDS])
def test_a_write_on_another_tenants_object_answers_404_like_a_missing_one(
    demo: Demo, probe_shop: Shop, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_shop, probe)


def test_another_tenants_idempotency_key_is_no_replay_of_their_payment(
    demo: Demo, probe_shop: Shop
) -> None:
    """Keys are unique per tenant: a key globex-goods used authorizes a new payment of
    initech's own, exactly as a fresh key does, and tells nothing of globex-goods' payment."""
    victim_key = (
        PaymentOperation.objects.all_tenants(reason="probe: the victim's key")
        .filter(payment_id=probe_shop.victim["payment"], kind="authorize")
        .values_list("idempotency_key", flat=True)
        .get()
    )
    api = api_as(demo, "probe.seller", PROBE_TENANT)
    url = f"{C}/orders/{probe_shop.allocated_order}/payments/"
    before = Payment.objects.all_tenants(reason="probe").count()
    response = api.post(url, {"amount": "5.00", "idempotency_key": victim_key}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment"]["order"] == probe_shop.allocated_order
    assert body["payment"]["authorized"] == "5.0000"
    assert body["operation"]["idempotency_key"] == victim_key
    assert body["payment"]["id"] != probe_shop.victim["payment"]
    assert Payment.objects.all_tenants(reason="probe").count() == before + 1


# Codes, SKUs and keys are unique per tenant: one another tenant uses is free for the prober
# (refusing it as taken would tell that the other tenant has it).
CODES = [
    ("/warehouses/", lambda c: {"code": c, "name": "probe", "city": "Dallas", "country": "US"}),
    ("/products/", lambda c: {"sku": c, "name": "probe"}),
    ("/channels/", lambda c: {"code": c, "name": "probe", "kind": "web", "currency": "USD"}),
]


@pytest.mark.parametrize(("path", "body"), CODES, ids=[path for path, _ in CODES])
def test_a_code_another_tenant_uses_is_free_for_the_prober(
    demo: Demo, probe_shop: Shop, path: str, body: Any
) -> None:
    key = {"/warehouses/": "warehouse_code", "/products/": "sku"}.get(path, "channel_code")
    code = probe_shop.victim[key]
    model = {"/warehouses/": Warehouse, "/products/": Product}.get(path, Channel)
    field = "sku" if model is Product else "code"
    rows = model.objects.all_tenants(reason="probe: the code's owners")
    assert list(rows.filter(**{field: code}).values_list("tenant__slug", flat=True)) == [
        "globex-goods"
    ]
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    response = api.post(f"{C}{path}", body(code), format="json")
    assert response.status_code == 201, response.content
    assert response.json()[field] == code
    owners = rows.filter(**{field: code}).values_list("tenant__slug", flat=True)
    assert sorted(owners) == ["globex-goods", PROBE_TENANT]


def test_an_fx_rate_another_tenant_has_is_free_for_the_prober(demo: Demo, probe_shop: Shop) -> None:
    theirs = FxRate.objects.all_tenants(reason="probe").get(pk=probe_shop.victim["fx_rate"])
    body = {
        "date": theirs.date.isoformat(),
        "from_currency": theirs.from_currency,
        "to_currency": theirs.to_currency,
        "rate": "3.5",
    }
    api = api_as(demo, "probe.operations", PROBE_TENANT)
    response = api.post(f"{C}/fx-rates/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["rate"] == "3.5000000000"
    theirs_after = FxRate.objects.all_tenants(reason="probe").get(pk=theirs.pk)
    assert theirs_after.rate == theirs.rate


def test_another_tenants_external_id_enters_a_new_order(demo: Demo, probe_shop: Shop) -> None:
    """The external id of one of globex-goods' orders, on initech's own channel: a new order
    of initech's (201), no replay of globex-goods' order."""
    theirs = SalesOrder.objects.all_tenants(reason="probe").get(pk=probe_shop.victim["order"])
    api = api_as(demo, "probe.seller", PROBE_TENANT)
    before = SalesOrder.objects.all_tenants(reason="probe").count()
    response = api.post(
        f"{C}/orders/", _order(probe_shop, external_id=theirs.external_id), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == theirs.external_id
    assert response.json()["id"] != theirs.pk
    assert response.json()["channel"] == probe_shop.channel_code
    assert SalesOrder.objects.all_tenants(reason="probe").count() == before + 1
