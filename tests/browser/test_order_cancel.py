"""A back-office user cancels an order in the admin: only their tenant's orders are listed, the
FSM transition button cancels it and the journal inline shows the cancel event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from orders.models import Order, OrderEvent
from tenancy.models import Tenant
from tests.browser.conftest import (
    Shots,
    admin_login,
    needs_chromium,
    readonly_value,
    seed_demo,
    success_messages,
)

WHY = "browser test: other tenants' rows"
REASON = "Client called: cancel the rest."

pytestmark = needs_chromium


def test_ops_user_cancels_an_open_order_and_the_journal_shows_it(
    transactional_db: None, live_server: Any, new_page: Callable[[], Page], shots: Shots
) -> None:
    # given the demo data and Acme's operations user logged in to the admin
    seed_demo()
    acme = Tenant.objects.get(slug="acme-capital")
    own = Order.objects.for_tenant(acme)
    own_refs = set(own.values_list("reference", flat=True))
    others = Order.objects.all_tenants(reason=WHY).exclude(tenant=acme)
    other_client_ids = set(others.values_list("client_order_id", flat=True))
    globex_refs = set(
        others.filter(tenant__slug="globex-goods").values_list("reference", flat=True)
    )
    order = own.filter(status="open").order_by("pk").first()
    assert order is not None
    assert globex_refs
    assert other_client_ids
    page = new_page()
    admin_login(page, live_server.url, "acme.ops")
    shots(page, "logged in")

    # when they open the order list
    page.goto(f"{live_server.url}/admin/orders/order/")
    shots(page, "order list")

    # then exactly Acme's orders are listed; no other tenant's reference or client id shows
    listed = page.locator("#result_list .field-reference").all_inner_texts()
    assert sorted(ref.strip() for ref in listed) == sorted(own_refs)
    html = page.content()
    assert [ref for ref in sorted(globex_refs) if ref in html] == []
    assert [cid for cid in sorted(other_client_ids) if cid in html] == []

    # when they open an open order and press the cancel transition button
    page.click(f'#result_list a:text-is("{order.reference}")')
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    assert readonly_value(page, "status") == "Open"
    shots(page, "open order")
    buttons = page.locator("button[name=_fsm_transition_to]")
    assert [b.strip() for b in buttons.all_inner_texts()] == ["Cancel"]
    page.click("button[name=_fsm_transition_to][value=cancel]")
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/transition/cancel/")
    page.fill("textarea[name=reason]", REASON)
    shots(page, "cancel reason form")
    page.click("#content input[type=submit][value=Apply]")
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    shots(page, "order canceled")

    # then the page reports it, the order is canceled (a trade order: cancel requested by the
    # user, then confirmed by the venue), and the journal inline ends with both events
    assert success_messages(page) == [f"{order.reference}: cancel done."]
    assert readonly_value(page, "status") == "Canceled"
    assert journal_rows(page)[-2:] == [
        ("Cancel requested", "-", "-", "acme.ops", REASON),
        ("Canceled", "open", "canceled", "system", "Canceled on request."),
    ]
    order.refresh_from_db()
    assert order.status == "canceled"
    events = OrderEvent.objects.for_tenant(acme).filter(order=order).order_by("-id")[:2]
    assert [
        (e.kind, e.from_status, e.to_status, e.actor.username if e.actor else None, e.reason)
        for e in reversed(events)
    ] == [
        ("cancel_requested", "", "", "acme.ops", REASON),
        ("canceled", "open", "canceled", None, "Canceled on request."),
    ]


def journal_rows(page: Page) -> list[tuple[str, ...]]:
    """The journal inline's rows: (kind, from, to, actor, reason) as displayed."""
    rows = page.locator("#events-group tbody tr.has_original")
    columns = ("kind", "from_status", "to_status", "actor_name", "reason")
    return [
        tuple(rows.nth(i).locator(f"td.field-{c}").inner_text().strip() for c in columns)
        for i in range(rows.count())
    ]
