from __future__ import annotations

import re

import pytest
from django.test import Client

from orders.models import Order, OrderEvent
from tests.conftest import member
from tests.factories import order_in_status


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _press_button(client: Client, order: Order, transition: str):
    """Post the change form as a browser does: its hidden inputs (the inline management form)
    plus the pressed transition button."""
    url = f"/admin/orders/order/{order.pk}/change/"
    page = client.get(url).content.decode()
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data.pop("csrfmiddlewaretoken", None)
    return client.post(url, {**data, "_fsm_transition_to": transition})


def _buttons(html: str) -> list[str]:
    return re.findall(r'name="_fsm_transition_to"\s+value="([a-z_]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("operations", "open", ["cancel"]),
        ("trader", "draft", ["cancel", "submit"]),
        ("compliance_officer", "held", ["approve", "reject"]),
        ("admin", "held", ["approve", "cancel", "reject"]),
        ("viewer", "open", []),
        ("seller", "open", []),
        ("operations", "completed", []),
    ],
)
def test_change_page_offers_the_transitions_the_role_may_run(tenant, role, status, expected):
    # given a trade order in a status and a staff user with a role in its tenant
    user = member(tenant, role, username=f"u.{role}")
    order = order_in_status(tenant=tenant, status=status)
    # when the user opens the change page
    response = _login(user).get(f"/admin/orders/order/{order.pk}/change/")
    # then exactly the permitted manual transitions are buttons
    assert response.status_code == 200
    assert sorted(_buttons(response.content.decode())) == expected


@pytest.mark.django_db
def test_cancel_through_the_admin_form_goes_through_the_service_and_journals(tenant):
    # given an open order and an operations user
    user = member(tenant, "operations", username="alpha.ops")
    order = order_in_status(tenant=tenant, status="open")
    client = _login(user)
    # when the cancel form is submitted with a reason
    response = client.post(
        f"/admin/orders/order/{order.pk}/transition/cancel/", {"reason": "client called"}
    )
    # then the order is canceled and the journal names the user and the reason
    assert response.status_code == 302
    order = Order.objects.for_tenant(tenant).get(pk=order.pk)
    assert (order.status, order.status_reason) == ("canceled", "client called")
    last = OrderEvent.objects.for_tenant(tenant).filter(order=order).order_by("id").reverse()[0]
    assert (last.kind, last.from_status, last.to_status, last.actor, last.reason) == (
        "canceled",
        "open",
        "canceled",
        user,
        "client called",
    )


@pytest.mark.django_db
def test_submit_button_on_the_change_page_submits_and_screens(tenant):
    user = member(tenant, "trader", username="alpha.trader")
    order = order_in_status(tenant=tenant, status="draft")
    response = _press_button(_login(user), order, "submit")
    assert response.status_code == 302
    order = Order.objects.for_tenant(tenant).get(pk=order.pk)
    assert order.status == "open"
    kinds = list(
        OrderEvent.objects.for_tenant(tenant).filter(order=order).values_list("kind", flat=True)
    )
    assert kinds == ["created", "submitted", "screened", "accepted"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "transition", "status"),
    [
        ("viewer", "cancel", "open"),
        ("trader", "approve", "held"),
        ("seller", "cancel", "open"),
        ("operations", "cancel", "completed"),
        ("trader", "expire", "open"),
    ],
)
def test_refused_admin_transition_changes_nothing(tenant, role, transition, status):
    # given a user whose role (or the order's state) does not allow the transition
    user = member(tenant, role, username=f"u.{role}")
    order = order_in_status(tenant=tenant, status=status)
    events_before = OrderEvent.objects.for_tenant(tenant).count()
    client = _login(user)
    # when they post it, by the form view and by the change page button
    client.post(f"/admin/orders/order/{order.pk}/transition/{transition}/", {"reason": "x"})
    by_button = _press_button(client, order, transition)
    assert by_button.status_code == 302  # processed (refused with a message), not a form error
    # then nothing changed
    assert Order.objects.for_tenant(tenant).get(pk=order.pk).status == status
    assert OrderEvent.objects.for_tenant(tenant).count() == events_before


@pytest.mark.django_db
def test_journal_inline_is_read_only_and_no_order_add(tenant):
    user = member(tenant, "admin", username="alpha.admin")
    order = order_in_status(tenant=tenant, status="open")
    client = _login(user)
    html = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Order events" in html
    assert html.count('<td class="field-kind">') == 3  # created, submitted, accepted
    assert 'name="events-0-kind"' not in html  # shown, not editable
    assert 'name="events-MAX_NUM_FORMS" value="0"' in html  # the journal cannot grow here
    assert 'name="_save"' not in html
    assert client.get("/admin/orders/order/add/").status_code == 403


@pytest.mark.django_db
def test_cancel_selected_action_cancels_live_and_reports_refusals(tenant):
    user = member(tenant, "operations", username="alpha.ops")
    live = order_in_status(tenant=tenant, status="open")
    done = order_in_status(tenant=tenant, status="completed")
    response = _login(user).post(
        "/admin/orders/order/",
        {"action": "cancel_selected", "_selected_action": [live.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    statuses = dict(Order.objects.for_tenant(tenant).values_list("pk", "status"))
    assert statuses == {live.pk: "canceled", done.pk: "completed"}
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "Canceled 1 order(s).",
        f"Not canceled: {done.reference} (Cannot cancel an order that is completed.)",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["nope", "delete", "expire", "save", "_set_reason"])
def test_unknown_or_system_transition_names_are_refused_without_a_500(tenant, name):
    # given an open order and its tenant admin
    user = member(tenant, "admin", username="alpha.admin")
    order = order_in_status(tenant=tenant, status="open")
    client = _login(user)
    # when a made-up or system transition name is posted either way
    by_view = client.post(f"/admin/orders/order/{order.pk}/transition/{name}/", {"reason": "x"})
    by_button = _press_button(client, order, name)
    # then the form view answers 404, the button is refused with a message, nothing changed
    assert by_view.status_code == 404
    assert by_button.status_code == 302
    assert Order.objects.for_tenant(tenant).get(pk=order.pk).status == "open"
    assert OrderEvent.objects.for_tenant(tenant).filter(order=order).count() == 3
