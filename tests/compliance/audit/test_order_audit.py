"""The order audit export: every source of an order's life, in time order, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.models import Fulfilment, TrackingEvent
from compliance.models.alerts import AlertAction
from compliance.services import alerts as svc
from orders.models import EventKind, OrderEvent
from orders.services import event_record
from tests.commerce.factories import WarehouseFactory, sales_order_make
from tests.compliance.factories import alert_new, reviewer
from tests.conftest import client_for, member
from tests.trading.helpers import children, desk_create, fill, manual_venue_install, report
from trading.models import Execution
from trading.venues.base import ReportKind

pytestmark = pytest.mark.django_db
NOT_FOUND = {"code": "not_found", "detail": "Order not found."}


def audit_url(order_id: int) -> str:
    return f"/api/v1/compliance/orders/{order_id}/audit/"


def iso(value: Any) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def event_rows(order_id: int, tenant: Any) -> list[dict[str, Any]]:
    return [
        {
            "at": iso(e.created_at),
            "source": "order_event",
            "ref": str(e.pk),
            "kind": e.kind,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor_name,
            "detail": {"reason": e.reason, "data": json.loads(json.dumps(e.data, default=str))},
        }
        for e in OrderEvent.objects.for_tenant(tenant).filter(order_id=order_id).order_by("id")
    ]


def action_rows(alert: Any) -> list[dict[str, Any]]:
    summary = {
        "alert_id": alert.pk,
        "rule": alert.rule,
        "severity": alert.severity,
        "title": alert.title,
    }
    return [
        {
            "at": iso(a.created_at),
            "source": "alert_action",
            "ref": str(a.pk),
            "kind": a.kind,
            "from_status": a.from_status,
            "to_status": a.to_status,
            "actor": a.actor_name,
            "detail": {**summary, "data": a.data},
        }
        for a in AlertAction.objects.for_tenant(alert.tenant_id).filter(alert=alert).order_by("id")
    ]


def csv_of(rows: list[dict[str, Any]]) -> list[list[str]]:
    cols = ["at", "source", "ref", "kind", "from_status", "to_status", "actor", "detail"]
    return [cols] + [
        [
            json.dumps(r[c], sort_keys=True, separators=(",", ":")) if c == "detail" else r[c]
            for c in cols
        ]
        for r in rows
    ]


@pytest.fixture
def trade_with_fills(tenant: Any, trader: Any, monkeypatch: Any) -> Any:
    """Buy 100 ACME @ 10.00 directed to XA, acknowledged, filled 40 @ 10.00 then 60 @ 9.99;
    one alert raised about it and worked by two officers."""
    manual_venue_install(monkeypatch)
    desk = desk_create(tenant, trader)
    trade = desk.order(quantity="100", order_type="limit", limit_price="10.00", venue=desk.venue)
    child = children(trade)[0]
    report(child, ReportKind.ACK)
    fill(child, "40", "10.00", "EX-1", fee="0.12")
    fill(child, "60", "9.99", "EX-2", fee="0.18")
    return trade


def test_trade_order_audit_json_has_every_row_in_time_order(
    tenant: Any, trade_with_fills: Any
) -> None:
    # given a filled trade order and an alert about it, assigned and noted
    trade = trade_with_fills
    lead = reviewer(tenant, "alpha.lead")
    analyst = reviewer(tenant, "alpha.analyst")
    alert = alert_new(tenant, rule="marking_close", order=trade.order, evidence={"share": "0.4"})
    svc.alert_assign(tenant=tenant, actor=lead, alert_id=alert.pk, assignee=analyst)
    svc.alert_note_add(tenant=tenant, actor=analyst, alert_id=alert.pk, text="Checked")
    # when a compliance officer exports its audit trail
    response = client_for(lead).get(audit_url(trade.pk))
    # then every event, both executions and every alert action appear, in time order
    assert response.status_code == 200
    body = response.json()
    assert body["order"] == {
        "id": trade.pk,
        "reference": trade.order.reference,
        "kind": "trade",
        "status": "completed",
        "created_at": iso(trade.order.created_at),
    }
    executions = {
        e.exec_id: e for e in Execution.objects.for_tenant(tenant).filter(order_id=trade.pk)
    }
    exec_rows = [
        {
            "at": iso(executions[x].transacted_at),
            "source": "execution",
            "ref": x,
            "kind": "fill",
            "from_status": "",
            "to_status": "",
            "actor": "XA",
            "detail": {
                "exec_id": x,
                "last_qty": str(executions[x].last_qty),
                "last_px": str(executions[x].last_px),
                "fee": str(executions[x].fee),
                "liquidity": executions[x].liquidity,
                "venue": "XA",
            },
        }
        for x in ("EX-1", "EX-2")
    ]
    assert (executions["EX-1"].last_qty, executions["EX-1"].last_px) == (
        Decimal("40"),
        Decimal("10.00"),
    )
    expected = sorted(
        event_rows(trade.pk, tenant) + exec_rows + action_rows(alert),
        key=lambda r: (
            r["at"],
            ["order_event", "execution", "alert_action"].index(r["source"]),
            int(r["ref"]) if r["ref"].isdigit() else int(r["ref"][3:]),
        ),
    )
    assert body["rows"] == expected
    assert [(r["source"], r["kind"]) for r in body["rows"] if r["source"] != "order_event"] == [
        ("execution", "fill"),
        ("execution", "fill"),
        ("alert_action", "raised"),
        ("alert_action", "assigned"),
        ("alert_action", "note_added"),
    ]
    kinds = [r["kind"] for r in body["rows"] if r["source"] == "order_event"]
    assert kinds[0] == EventKind.CREATED
    assert kinds[-2:] == [EventKind.PARTIALLY_FILLED, EventKind.COMPLETED]
    assert [r["at"] for r in body["rows"]] == sorted(r["at"] for r in body["rows"])


def test_trade_order_audit_csv_has_the_same_rows(tenant: Any, trade_with_fills: Any) -> None:
    trade = trade_with_fills
    lead = reviewer(tenant, "alpha.lead")
    alert_new(tenant, order=trade.order)
    client = client_for(lead)
    rows = client.get(audit_url(trade.pk)).json()["rows"]
    by_param = client.get(audit_url(trade.pk), {"format": "csv"})
    by_accept = client.get(audit_url(trade.pk), HTTP_ACCEPT="text/csv")
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="audit-{trade.order.reference}.csv"'
        )
        parsed = list(csv.reader(io.StringIO(response.content.decode())))
        assert parsed == csv_of(rows)


def test_sales_order_audit_lists_shipments_and_scans(tenant: Any) -> None:
    # given an open sales order shipped from one warehouse, with a carrier scan and a delivery
    lead = reviewer(tenant, "alpha.lead")
    sales = sales_order_make(tenant=tenant)
    now = timezone.now()
    warehouse = WarehouseFactory(tenant=tenant, code="BER")
    fulfilment = Fulfilment.objects.create(
        tenant=tenant,
        sales_order=sales,
        warehouse=warehouse,
        state="delivered",
        carrier="DHL",
        tracking_number="JD0001",
        shipped_at=now + timedelta(hours=1),
        delivered_at=now + timedelta(hours=3),
    )
    scan = TrackingEvent.objects.create(
        tenant=tenant,
        fulfilment=fulfilment,
        code="in_transit",
        description="Left the hub",
        location="Leipzig",
        occurred_at=now + timedelta(hours=2),
    )
    event_record(
        order=sales.order, kind=EventKind.SHIPPED, actor=lead, data={"fulfilment": fulfilment.pk}
    )
    # when the audit is exported
    body = client_for(lead).get(audit_url(sales.pk)).json()
    # then the journal, the fulfilment's moments and the scan appear in time order
    detail = {
        "fulfilment_id": fulfilment.pk,
        "warehouse": "BER",
        "state": "delivered",
        "carrier": "DHL",
        "tracking_number": "JD0001",
    }

    def ship_row(kind: str, at: Any) -> dict[str, Any]:
        return {
            "at": iso(at),
            "source": "shipment",
            "ref": str(fulfilment.pk),
            "kind": kind,
            "from_status": "",
            "to_status": "",
            "actor": "",
            "detail": detail,
        }

    events = event_rows(sales.pk, tenant)
    assert body["rows"] == [
        *events[:-1],
        ship_row("created", fulfilment.created_at),
        events[-1],
        ship_row("shipped", fulfilment.shipped_at),
        {
            "at": iso(scan.occurred_at),
            "source": "tracking",
            "ref": str(scan.pk),
            "kind": "in_transit",
            "from_status": "",
            "to_status": "",
            "actor": "",
            "detail": {
                "fulfilment_id": fulfilment.pk,
                "description": "Left the hub",
                "location": "Leipzig",
            },
        },
        ship_row("delivered", fulfilment.delivered_at),
    ]
    assert events[-1]["kind"] == "shipped"
    # and the CSV carries the same rows
    csv_body = client_for(lead).get(audit_url(sales.pk), {"format": "csv"})
    assert list(csv.reader(io.StringIO(csv_body.content.decode()))) == csv_of(body["rows"])


def test_pattern_alert_naming_the_order_in_its_evidence_is_included(tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    sales = sales_order_make(tenant=tenant)
    alert = alert_new(tenant, rule="velocity", evidence={"orders": [sales.pk, sales.pk + 1000]})
    rows = client_for(lead).get(audit_url(sales.pk)).json()["rows"]
    assert [r for r in rows if r["source"] == "alert_action"] == action_rows(alert)


@pytest.mark.parametrize("role", ["trader", "seller", "operations", "viewer", "portfolio_manager"])
def test_only_reviewers_export_audits(tenant: Any, role: str) -> None:
    user = member(tenant, role, username=f"alpha.{role}")
    sales = sales_order_make(tenant=tenant)
    response = client_for(user).get(audit_url(sales.pk))
    assert response.status_code == 403


def test_another_tenants_order_is_404(tenant: Any, other_tenant: Any) -> None:
    lead = reviewer(tenant, "alpha.lead")
    foreign = sales_order_make(tenant=other_tenant)
    client = client_for(lead)
    for path in (audit_url(foreign.pk), audit_url(987654321)):
        response = client.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert client.get("/api/v1/compliance/orders/1234567890123456789012/audit/").status_code == 404
    csv_404 = client.get(audit_url(foreign.pk), {"format": "csv"})
    assert (csv_404.status_code, csv_404.content.decode()) == (
        404,
        "code,detail\r\nnot_found,Order not found.\r\n",
    )
