"""The reservations admin: the working tenant's holds listed read-only, filtered and searched;
the "release selected" action goes through the release service, leaves released ones alone,
reports consumed ones, and never reaches another tenant's reservation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from commerce.models import Reservation, ReservationStatus
from commerce.services.allocation import sales_order_route
from commerce.services.stock import reservation_create, reservation_release
from tests.commerce.core.admin_rows import changelist_rows
from tests.commerce.core.helpers import order_enter, rows_snapshot, stock_of, warehouse_in
from tests.commerce.factories import ProductFactory
from tests.conftest import admin_client_for, member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/commerce/reservation/"
COLUMNS = ("id", "sku", "warehouse", "quantity", "held_for", "holder", "state")


@dataclass
class Holds:
    cart: Reservation  # MUG-1 in BER for cart-9, expires in 20 minutes
    due: Reservation  # MUG-1 in BER for cart-10, expired 5 minutes ago (not yet swept)
    released: Reservation  # MUG-1 in BER for cart-11, released
    consumed: Reservation  # MUG-1 in BER for an order, consumed by its routing
    order: Reservation  # TEE-2 in MUN for an order awaiting payment, expires in an hour
    foreign: Reservation  # the other tenant's MUG-1 for cart-9
    consumed_ref: str
    order_ref: str


def _hold(tenant: Any, actor: Any, stock: Any, quantity: str, minutes: int, **kw: Any) -> Any:
    return reservation_create(
        tenant=tenant,
        actor=actor,
        warehouse_id=stock.warehouse_id,
        product_id=stock.product_id,
        quantity=quantity,
        expires_at=timezone.now() + timedelta(minutes=minutes),
        **kw,
    )


@pytest.fixture
def holds(tenant: Any, other_tenant: Any, seller: Any) -> Holds:
    mug, tee = (
        ProductFactory(tenant=tenant, sku="MUG-1"),
        ProductFactory(tenant=tenant, sku="TEE-2"),
    )
    mugs = stock_of(tenant, warehouse_in(tenant, "Berlin"), mug, 10)
    tees = stock_of(tenant, warehouse_in(tenant, "Munich"), tee, 10)
    cart = _hold(tenant, seller, mugs, "2", 20, reference="cart-9")
    due = _hold(tenant, seller, mugs, "1", 1, reference="cart-10")
    Reservation.objects.for_tenant(tenant).filter(pk=due.pk).update(
        expires_at=timezone.now() - timedelta(minutes=5)  # as if time had passed
    )
    released = _hold(tenant, seller, mugs, "1", 30, reference="cart-11")
    reservation_release(tenant=tenant, actor=seller, reservation_id=released.pk)
    routed = order_enter(tenant, seller, lines=[(mug, 1)])
    consumed = _hold(tenant, seller, mugs, "1", 40, sales_order_id=routed.pk)
    sales_order_route(tenant_id=tenant.pk, order_id=routed.pk)
    awaiting = order_enter(tenant, seller, lines=[(tee, 1)])
    order = _hold(tenant, seller, tees, "1", 60, sales_order_id=awaiting.pk)
    theirs = member(other_tenant, "seller", username="beta.seller")
    their_mug = ProductFactory(tenant=other_tenant, sku="MUG-1")
    their_stock = stock_of(other_tenant, warehouse_in(other_tenant, "Berlin"), their_mug, 5)
    foreign = _hold(other_tenant, theirs, their_stock, "3", 20, reference="cart-9")
    fresh = Reservation.objects.for_tenant(tenant)
    return Holds(
        cart=fresh.get(pk=cart.pk),
        due=fresh.get(pk=due.pk),
        released=fresh.get(pk=released.pk),
        consumed=fresh.get(pk=consumed.pk),
        order=fresh.get(pk=order.pk),
        foreign=foreign,
        consumed_ref=routed.order.reference,
        order_ref=awaiting.order.reference,
    )


@pytest.fixture
def staff(seller: Any) -> Any:
    return admin_client_for(seller)


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200
    return [r.pk for r in response.context["cl"].result_list]


def _notes(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def _statuses(tenant: Any) -> dict[int, str]:
    return dict(Reservation.objects.for_tenant(tenant).values_list("pk", "status"))


def test_list_shows_the_working_tenants_reservations_with_holder_expiry_and_state(
    staff: Any, holds: Holds
) -> None:
    # given the holds above (and another tenant's)
    # when the list is opened
    response = staff.get(LIST)

    # then ours show by expiry, each with product, warehouse, quantity, holder and state, and
    # the release is offered
    h = holds
    offered = [name for name, _label in response.context["action_form"].fields["action"].choices]
    assert offered == ["", "release_selected"]
    assert _ids(response) == [h.due.pk, h.cart.pk, h.released.pk, h.consumed.pk, h.order.pk]
    assert changelist_rows(response, COLUMNS) == [
        (str(h.due.pk), "MUG-1", "BER", "1.000", "cart", "cart-10", "Active, due for release"),
        (str(h.cart.pk), "MUG-1", "BER", "2.000", "cart", "cart-9", "Active"),
        (str(h.released.pk), "MUG-1", "BER", "1.000", "cart", "cart-11", "Released"),
        (str(h.consumed.pk), "MUG-1", "BER", "1.000", "order", h.consumed_ref, "Consumed"),
        (str(h.order.pk), "TEE-2", "MUN", "1.000", "order", h.order_ref, "Active"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "active"}, ["due", "cart", "order"]),
        ({"status__exact": "consumed"}, ["consumed"]),
        ({"held_for": "cart"}, ["due", "cart", "released"]),
        ({"held_for": "order"}, ["consumed", "order"]),
        ({"expiry": "due"}, ["due"]),
        ({"expiry": "not_due"}, ["cart", "order"]),
        ({"held_for": "cart", "status__exact": "active"}, ["due", "cart"]),
        ({"q": "TEE-2"}, ["order"]),
        ({"q": "MUG-1"}, ["due", "cart", "released", "consumed"]),
        ({"q": "cart-9"}, ["cart"]),
    ],
)
def test_filters_and_search_select_exactly_their_reservations(
    staff: Any, holds: Holds, query: dict[str, str], expected: list[str]
) -> None:
    # given the holds above
    # when the list is filtered or searched
    response = staff.get(LIST, query)

    # then exactly those reservations of the working tenant come back
    assert _ids(response) == [getattr(holds, name).pk for name in expected]


def test_search_by_order_reference_and_the_warehouse_filter(staff: Any, holds: Holds) -> None:
    # given the holds above
    munich = holds.order.stock.warehouse

    # when searching the waiting order's reference and filtering by warehouse
    by_reference = staff.get(LIST, {"q": holds.order_ref})
    by_warehouse = staff.get(LIST, {"stock__warehouse__id__exact": munich.pk})
    by_foreign = staff.get(LIST, {"stock__warehouse__id__exact": holds.foreign.stock.warehouse_id})

    # then the order's hold alone; the filter offers only our warehouses; another tenant's
    # warehouse selects nothing
    assert _ids(by_reference) == [holds.order.pk]
    assert _ids(by_warehouse) == [holds.order.pk]
    (warehouses,) = [
        f
        for f in by_warehouse.context["cl"].filter_specs
        if getattr(f, "field_path", "") == "stock__warehouse"
    ]
    assert [label for _pk, label in warehouses.lookup_choices] == ["BER", "MUN"]
    assert _ids(by_foreign) == []


def test_rows_are_read_only_and_another_tenants_row_is_404(
    staff: Any, tenant: Any, holds: Holds
) -> None:
    # given the holds above
    before = rows_snapshot(tenant)
    cart = holds.cart.pk

    # when staff try to add, change and delete, and open another tenant's reservation
    add = staff.get(f"{LIST}add/")
    view = staff.get(f"{LIST}{cart}/change/")
    change = staff.post(f"{LIST}{cart}/change/", {"quantity": "9"})
    delete = staff.post(f"{LIST}{cart}/delete/", {"post": "yes"})
    foreign = staff.get(f"{LIST}{holds.foreign.pk}/change/")

    # then the page only shows the row; every write is refused; nothing changed
    assert (add.status_code, view.status_code, change.status_code) == (403, 200, 403)
    assert (delete.status_code, foreign.status_code) == (403, 404)
    assert b'name="_save"' not in view.content
    assert b"cart-9" in view.content
    assert rows_snapshot(tenant) == before


def test_superusers_do_not_add_or_change_reservations_either(db: Any, holds: Holds) -> None:
    # given a platform superuser
    root = admin_client_for(UserFactory(username="root", is_superuser=True))

    # when they try to add or change a reservation
    add = root.get(f"{LIST}add/")
    change = root.post(f"{LIST}{holds.cart.pk}/change/", {"quantity": "9"})

    # then both are refused and the reservation is unchanged
    assert (add.status_code, change.status_code) == (403, 403)
    assert Reservation.objects.for_tenant(holds.cart.tenant_id).get(pk=holds.cart.pk).quantity == (
        Decimal("2.000")
    )


def _release(client: Any, *ids: int) -> Any:
    return client.post(
        LIST, {"action": "release_selected", "_selected_action": list(ids)}, follow=True
    )


def test_release_selected_releases_active_ones_through_the_service(
    staff: Any, tenant: Any, other_tenant: Any, holds: Holds
) -> None:
    # given active, expired, released and consumed holds, and another tenant's hold
    h = holds
    theirs_before = rows_snapshot(other_tenant)
    statuses = _statuses(tenant)

    # when staff release a selection of all of them, the other tenant's id included
    response = _release(staff, h.cart.pk, h.due.pk, h.released.pk, h.consumed.pk, h.foreign.pk)

    # then the two active holds are released and their goods available again, the released
    # one is left alone, the consumed one is refused with the reason, the other tenant's is
    # untouched, and each outcome is reported
    assert _notes(response) == [
        (
            "info",
            f"Released 2 reservation(s): #{h.cart.pk} (2.000 MUG-1), #{h.due.pk} (1.000 MUG-1)",
        ),
        ("warning", f"Already released, left alone: #{h.released.pk}"),
        (
            "error",
            f"Not released: #{h.consumed.pk}: The reservation was consumed into an allocation.",
        ),
    ]
    assert _statuses(tenant) == {
        **statuses,
        h.cart.pk: ReservationStatus.RELEASED,
        h.due.pk: ReservationStatus.RELEASED,
    }
    mugs = h.cart.stock
    mugs.refresh_from_db()
    assert (mugs.on_hand, mugs.allocated, mugs.reserved) == (
        Decimal("10.000"),
        Decimal("1.000"),
        Decimal("0.000"),
    )
    assert rows_snapshot(other_tenant) == theirs_before


def test_release_of_only_another_tenants_reservation_changes_nothing(
    staff: Any, tenant: Any, other_tenant: Any, holds: Holds
) -> None:
    # given the holds above
    before = (rows_snapshot(tenant), rows_snapshot(other_tenant))

    # when staff post the release action naming only the other tenant's reservation
    response = _release(staff, holds.foreign.pk)

    # then nothing is selected, nothing released, in either tenant
    assert response.status_code == 200
    assert _notes(response) == [("warning", "No reservation to release.")]
    assert (rows_snapshot(tenant), rows_snapshot(other_tenant)) == before


def test_a_viewer_sees_the_list_but_is_not_offered_the_release(tenant: Any, holds: Holds) -> None:
    # given a member whose role does not enter sales orders
    viewer = admin_client_for(member(tenant, "viewer", username="alpha.viewer"))
    before = rows_snapshot(tenant)

    # when they open the list and post the release action anyway
    page = viewer.get(LIST)
    response = _release(viewer, holds.cart.pk)

    # then they read the list, the action is not offered, and nothing is released
    assert len(_ids(page)) == 5
    assert page.context["action_form"] is None  # no action at all
    assert response.status_code == 200
    assert rows_snapshot(tenant) == before
