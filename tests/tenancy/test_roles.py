"""Role permissions are per tenant (tenancy/roles.py, TenantRoleAdminMixin, TenantRolePermission).

The user here is admin in alpha and viewer in beta, staff, with no global Django permission:
everything they may do comes from their role in the tenant they work in.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages

from orders.models import Order, OrderStatus
from tenancy.models import Membership
from tests.conftest import admin_client_for, client_for, member, tenancy_snapshot
from tests.factories import MembershipFactory, order_in_status

FORBIDDEN = {
    "code": "permission_denied",
    "detail": "You do not have permission to perform this action.",
}


@pytest.fixture
def dual(world):
    """Admin of alpha, viewer of beta; no global permission."""
    user = member(world.alpha, "admin", username="dual.user")
    MembershipFactory(tenant=world.beta, user=user, role="viewer")
    assert user.get_all_permissions() == set()
    return user


@pytest.fixture
def admin_in(dual):
    """A logged-in admin client of ``dual`` working in the given tenant."""

    def make(slug):
        client = admin_client_for(dual)
        client.post("/admin/switch-tenant/", {"tenant": slug})
        return client

    return make


def _membership(tenant, user):
    return Membership.objects.for_tenant(tenant).get(user=user)


@pytest.mark.django_db
def test_admin_role_changes_a_membership_in_its_tenant(world, admin_in):
    # given dual working in alpha, where they are admin
    client = admin_in("alpha")
    viewer = _membership(world.alpha, world.alpha_viewer)
    # when they make alpha's viewer a trader
    response = client.post(
        f"/admin/tenancy/membership/{viewer.pk}/change/",
        {"user": world.alpha_viewer.pk, "role": "trader", "active": "on"},
    )
    # then it is saved
    assert response.status_code == 302
    assert _membership(world.alpha, world.alpha_viewer).role == "trader"


@pytest.mark.django_db
def test_viewer_role_cannot_change_a_membership_in_its_tenant(world, admin_in):
    # given dual working in beta, where they are only a viewer
    client = admin_in("beta")
    seller = _membership(world.beta, world.beta_seller)
    before = tenancy_snapshot()
    # when they try to make beta's seller an admin
    response = client.post(
        f"/admin/tenancy/membership/{seller.pk}/change/",
        {"user": world.beta_seller.pk, "role": "admin", "active": "on"},
    )
    # then it is forbidden and nothing changed
    assert response.status_code == 403
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_viewer_role_sees_memberships_read_only(world, admin_in):
    # given dual working in beta
    client = admin_in("beta")
    seller = _membership(world.beta, world.beta_seller)
    # when they open a membership and the changelist
    page = client.get(f"/admin/tenancy/membership/{seller.pk}/change/")
    listing = client.get("/admin/tenancy/membership/")
    # then they may look but not change, add or delete
    assert page.status_code == 200
    assert (
        page.context["has_change_permission"],
        page.context["has_add_permission"],
        page.context["has_delete_permission"],
    ) == (False, False, False)
    assert listing.context["has_add_permission"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/admin/tenancy/membership/add/", {"user": "{seller}", "role": "viewer", "active": "on"}),
        ("/admin/tenancy/membership/{membership}/delete/", {"post": "yes"}),
        ("/admin/tenancy/tenant/{tenant}/change/", {"name": "Renamed by a viewer"}),
    ],
)
def test_viewer_role_cannot_add_delete_or_rename(world, admin_in, url, data):
    # given dual working in beta, where they are only a viewer
    client = admin_in("beta")
    ids = {
        "seller": world.beta_seller.pk,
        "membership": _membership(world.beta, world.beta_seller).pk,
        "tenant": world.beta.pk,
    }
    before = tenancy_snapshot()
    # when they add a membership, delete one, or rename the tenant
    response = client.post(
        url.format(**ids), {key: value.format(**ids) for key, value in data.items()}
    )
    # then each is forbidden and nothing changed
    assert response.status_code == 403
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_admin_role_deletes_a_membership_and_renames_its_tenant(world, admin_in):
    # given dual working in alpha, where they are admin
    client = admin_in("alpha")
    viewer = _membership(world.alpha, world.alpha_viewer)
    # when they delete the viewer's membership and rename alpha
    deleted = client.post(f"/admin/tenancy/membership/{viewer.pk}/delete/", {"post": "yes"})
    renamed = client.post(
        f"/admin/tenancy/tenant/{world.alpha.pk}/change/",
        {"name": "Alpha Capital", "base_currency": "EUR", "timezone": "Europe/Paris"},
    )
    # then both are done (the slug and the active flag stay read-only for them)
    assert (deleted.status_code, renamed.status_code) == (302, 302)
    assert Membership.objects.for_tenant(world.alpha).filter(user=world.alpha_viewer).count() == 0
    world.alpha.refresh_from_db()
    assert (world.alpha.slug, world.alpha.name, world.alpha.base_currency, world.alpha.active) == (
        "alpha",
        "Alpha Capital",
        "EUR",
        True,
    )


@pytest.mark.django_db
def test_the_working_tenant_decides_not_the_strongest_role(world, admin_in):
    # given dual working in beta (viewer), naming a membership of alpha (where they are admin)
    client = admin_in("beta")
    viewer = _membership(world.alpha, world.alpha_viewer)
    before = tenancy_snapshot()
    # when they post a change to it
    response = client.post(
        f"/admin/tenancy/membership/{viewer.pk}/change/",
        {"user": world.alpha_viewer.pk, "role": "admin", "active": "on"},
    )
    # then it is forbidden (the viewer role of beta applies) and nothing changed
    assert response.status_code == 403
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_cancel_action_follows_the_role_in_the_working_tenant(world, admin_in):
    # given dual: admin in alpha, viewer in beta
    alpha_client, beta_client = admin_in("alpha"), admin_in("beta")
    beta_before = [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk]
    # when they cancel an open order in each tenant from the changelist
    done = alpha_client.post(
        "/admin/orders/order/",
        {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [world.alpha_open.pk], "index": "0"},
    )
    refused = beta_client.post(
        "/admin/orders/order/",
        {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [world.beta_open.pk], "index": "0"},
    )
    # then alpha's is canceled; beta's is refused by the viewer role and unchanged
    assert [m.message for m in get_messages(done.wsgi_request)] == ["Canceled 1 order(s)."]
    assert [m.message for m in get_messages(refused.wsgi_request)] == [
        "Not canceled: T-000001 (Your role may not cancel this order.)"
    ]
    assert Order.objects.for_tenant(world.alpha).get(pk=world.alpha_open.pk).status == "canceled"
    assert [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk] == beta_before


@pytest.mark.django_db
def test_api_transition_follows_the_role_in_the_named_tenant(world, dual):
    # given a held order in each tenant; dual is admin in alpha, viewer in beta
    beta_held = order_in_status(tenant=world.beta, status=OrderStatus.HELD)
    before_beta = [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk]
    # when they approve each, naming its tenant
    approved = client_for(dual, "alpha").post(
        f"/api/v1/orders/{world.alpha_held.pk}/approve/", {"reason": "ok"}, format="json"
    )
    refused = client_for(dual, "beta").post(
        f"/api/v1/orders/{beta_held.pk}/approve/", {"reason": "ok"}, format="json"
    )
    # then alpha's is approved; beta's is a 403 and beta is unchanged
    assert (approved.status_code, approved.json()["status"]) == (200, "open")
    assert (refused.status_code, refused.json()) == (
        403,
        {"code": "permission_denied", "detail": "Your role may not approve this order."},
    )
    assert [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk] == before_beta


@pytest.mark.django_db
def test_api_order_entry_follows_the_role_in_the_named_tenant(world, dual):
    # given dual: admin in alpha, viewer in beta
    payload = {"kind": "trade", "client_order_id": "role-check"}
    before = tenancy_snapshot()
    # when they enter an order in beta, then in alpha
    refused = client_for(dual, "beta").post("/api/v1/orders/", payload, format="json")
    after_refusal = tenancy_snapshot()
    created = client_for(dual, "alpha").post("/api/v1/orders/", payload, format="json")
    # then beta refuses (nothing written) and alpha accepts
    assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
    assert after_refusal == before
    assert created.status_code == 201
    assert Order.objects.for_tenant(world.alpha).filter(client_order_id="role-check").count() == 1
    assert Order.objects.for_tenant(world.beta).filter(client_order_id="role-check").count() == 0
