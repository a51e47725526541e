"""Admin isolation (tenancy/admin_base.py, tenancy/admin.py, orders/admin.py, middleware).

Staff users (``is_staff``, no global Django permission at all) see and edit only their working
tenant's rows; another tenant's object answers exactly like a missing id; a superuser sees all.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from orders.models import Order
from tenancy.models import Membership, Tenant
from tests.conftest import admin_client_for, member, tenancy_snapshot
from tests.factories import UserFactory

CHANGELISTS = {
    "orders": "/admin/orders/order/",
    "memberships": "/admin/tenancy/membership/",
    "tenants": "/admin/tenancy/tenant/",
}


def _rows(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def _visible(world, name):
    """The rows of a changelist that belong to alpha."""
    return {
        "orders": {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk},
        "memberships": set(Membership.objects.for_tenant(world.alpha).values_list("pk", flat=True)),
        "tenants": {world.alpha.pk},
    }[name]


def _foreign_object(world, name):
    """(beta's object, an id that exists nowhere) for a model admin."""
    obj = {
        "order": world.beta_open,
        "membership": Membership.objects.for_tenant(world.beta).get(user=world.beta_admin),
        "tenant": world.beta,
    }[name]
    return obj, obj.pk + 1000


@pytest.mark.django_db
@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelist_shows_only_the_working_tenants_rows(world, name):
    # given rows in alpha and beta and alpha's admin
    client = admin_client_for(world.alpha_admin)
    # when they open the changelist
    response = client.get(CHANGELISTS[name])
    # then exactly alpha's rows are listed and counted
    assert response.status_code == 200
    assert _rows(response) == _visible(world, name)
    assert response.context["cl"].full_result_count == len(_visible(world, name))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "url", "expected_status"),
    [
        ("order", "/admin/orders/order/{id}/change/", 404),
        ("order", "/admin/orders/order/{id}/history/", 404),
        ("order", "/admin/orders/order/{id}/transition/cancel/", 404),
        ("order", "/admin/orders/order/{id}/delete/", 403),  # nobody deletes orders
        ("membership", "/admin/tenancy/membership/{id}/change/", 404),
        ("membership", "/admin/tenancy/membership/{id}/history/", 404),
        ("membership", "/admin/tenancy/membership/{id}/delete/", 404),
        ("tenant", "/admin/tenancy/tenant/{id}/change/", 404),
        ("tenant", "/admin/tenancy/tenant/{id}/history/", 404),
        ("tenant", "/admin/tenancy/tenant/{id}/delete/", 403),  # platform (superuser) job
    ],
)
def test_another_tenants_object_page_answers_like_a_missing_id(world, model, url, expected_status):
    # given beta's object, an id that exists nowhere, and alpha's admin
    client = admin_client_for(world.alpha_admin)
    obj, missing_id = _foreign_object(world, model)
    # when they open the page for each
    foreign = client.get(url.format(id=obj.pk))
    missing = client.get(url.format(id=missing_id))
    # then both answer the same status and the same bytes
    assert foreign.status_code == expected_status
    assert (missing.status_code, missing.content) == (foreign.status_code, foreign.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "url", "data"),
    [
        ("order", "/admin/orders/order/{id}/change/", {"_fsm_transition_to": "cancel"}),
        ("order", "/admin/orders/order/{id}/transition/cancel/", {"reason": "probe"}),
        ("order", "/admin/orders/order/{id}/delete/", {"post": "yes"}),
        ("membership", "/admin/tenancy/membership/{id}/change/", {"role": "viewer"}),
        ("membership", "/admin/tenancy/membership/{id}/delete/", {"post": "yes"}),
        ("tenant", "/admin/tenancy/tenant/{id}/change/", {"name": "Taken over"}),
        ("tenant", "/admin/tenancy/tenant/{id}/delete/", {"post": "yes"}),
    ],
)
def test_posting_to_another_tenants_object_changes_nothing(world, model, url, data):
    # given beta's object, an id that exists nowhere, and alpha's admin
    client = admin_client_for(world.alpha_admin)
    obj, missing_id = _foreign_object(world, model)
    before = tenancy_snapshot()
    # when they post a change, a transition or a deletion for each
    foreign = client.post(url.format(id=obj.pk), data)
    missing = client.post(url.format(id=missing_id), data)
    # then it fails like a missing id (404, or 403 where nobody may) and nothing changed
    assert foreign.status_code in (403, 404)
    assert (missing.status_code, missing.content) == (foreign.status_code, foreign.content)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("orders", "T-000001"),  # both tenants have this reference
        ("orders", "b-1"),  # beta's client order id
        ("memberships", "beta"),
        ("memberships", "seller"),
        ("tenants", "beta"),
    ],
)
def test_search_does_not_find_other_tenants_rows(world, name, query):
    # given alpha's admin
    client = admin_client_for(world.alpha_admin)
    # when they search for something only (or also) in beta
    response = client.get(CHANGELISTS[name], {"q": query})
    # then only alpha's matches come back
    expected = {
        ("orders", "T-000001"): {world.alpha_open.pk},
        ("orders", "b-1"): set(),
        ("memberships", "beta"): set(),
        ("memberships", "seller"): set(),
        ("tenants", "beta"): set(),
    }[(name, query)]
    assert response.status_code == 200
    assert _rows(response) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("orders", {"status__exact": "open"}, ["alpha_open"]),
        ("orders", {"kind__exact": "sales"}, ["alpha_sale"]),
        ("orders", {"status__exact": "held", "kind__exact": "trade"}, ["alpha_held"]),
        (
            "orders",
            {"created_at__gte": "2000-01-01 00:00:00+00:00"},
            ["alpha_open", "alpha_held", "alpha_sale"],
        ),
        ("memberships", {"role__exact": "admin"}, ["alpha_admin"]),
        ("memberships", {"role__exact": "seller"}, []),
        ("tenants", {"active__exact": "1"}, ["alpha"]),
    ],
)
def test_list_filters_stay_inside_the_working_tenant(world, name, params, expected):
    # given rows matching the filter in both tenants, and alpha's admin
    client = admin_client_for(world.alpha_admin)
    # when they filter the changelist
    response = client.get(CHANGELISTS[name], params)
    # then only alpha's matching rows are listed
    expected_pks = {
        (
            Membership.objects.for_tenant(world.alpha).get(user=getattr(world, key)).pk
            if name == "memberships"
            else getattr(world, key).pk
        )
        for key in expected
    }
    assert response.status_code == 200
    assert _rows(response) == expected_pks


@pytest.mark.django_db
def test_cancel_action_ignores_another_tenants_id(world):
    # given alpha's admin selecting alpha's open order and (forged) beta's open order
    client = admin_client_for(world.alpha_admin)
    beta_before = [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk]
    # when they run "cancel selected"
    response = client.post(
        CHANGELISTS["orders"],
        {
            "action": "cancel_selected",
            ACTION_CHECKBOX_NAME: [world.alpha_open.pk, world.beta_open.pk],
            "index": "0",
        },
    )
    # then alpha's order is canceled and beta's rows are untouched
    assert response.status_code == 302
    assert Order.objects.for_tenant(world.alpha).get(pk=world.alpha_open.pk).status == "canceled"
    assert [row for row in tenancy_snapshot()["orders"] if row[1] == world.beta.pk] == beta_before


@pytest.mark.django_db
def test_cancel_action_with_only_foreign_ids_changes_nothing(world):
    # given alpha's admin and a forged selection of beta's orders only
    client = admin_client_for(world.alpha_admin)
    before = tenancy_snapshot()
    # when they run "cancel selected"
    response = client.post(
        CHANGELISTS["orders"],
        {
            "action": "cancel_selected",
            ACTION_CHECKBOX_NAME: [world.beta_open.pk, world.beta_sale.pk],
            "index": "0",
        },
    )
    # then nothing anywhere changed
    assert response.status_code == 302
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_membership_form_offers_only_the_working_tenants_users(world):
    # given alpha's admin, users of beta and a user of no tenant
    UserFactory(username="unattached")
    client = admin_client_for(world.alpha_admin)
    # when they open the add-membership form
    response = client.get("/admin/tenancy/membership/add/")
    # then the user choices are alpha's users only, and the tenant is not a choice at all
    form = response.context["adminform"].form
    assert response.status_code == 200
    assert set(form.fields["user"].queryset) == {world.alpha_admin, world.alpha_viewer}
    assert list(form.fields) == ["user", "role", "active"]


@pytest.mark.django_db
def test_membership_form_refuses_a_user_of_another_tenant(world):
    # given alpha's admin and beta's seller
    client = admin_client_for(world.alpha_admin)
    before = tenancy_snapshot()
    # when they post a membership for beta's seller
    response = client.post(
        "/admin/tenancy/membership/add/",
        {"user": world.beta_seller.pk, "role": "admin", "active": "on"},
    )
    # then the user is not a valid choice (like a missing id) and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "user": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_membership_form_refuses_a_second_membership_as_a_form_error(world):
    # given alpha's admin and alpha's viewer (already a member)
    client = admin_client_for(world.alpha_admin)
    before = tenancy_snapshot()
    # when they post another alpha membership for the viewer
    response = client.post(
        "/admin/tenancy/membership/add/",
        {"user": world.alpha_viewer.pk, "role": "admin", "active": "on"},
    )
    # then the form says so (not a 500 from the database) and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Membership with this Tenant and User already exists."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_membership_change_cannot_move_it_onto_another_member(world):
    # given alpha's admin and the viewer's membership
    client = admin_client_for(world.alpha_admin)
    viewer = Membership.objects.for_tenant(world.alpha).get(user=world.alpha_viewer)
    before = tenancy_snapshot()
    # when they change that membership's user to the admin (already a member)
    response = client.post(
        f"/admin/tenancy/membership/{viewer.pk}/change/",
        {"user": world.alpha_admin.pk, "role": "viewer", "active": "on"},
    )
    # then the form refuses it and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Membership with this Tenant and User already exists."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_order_page_journal_inline_lists_only_that_orders_events(world):
    # given alpha's open order (created, submitted, accepted) and journals elsewhere
    client = admin_client_for(world.alpha_admin)
    # when its change page is opened
    response = client.get(f"/admin/orders/order/{world.alpha_open.pk}/change/")
    # then the inline journal is that order's three events
    (inline,) = response.context["inline_admin_formsets"]
    assert response.status_code == 200
    assert [form.instance.kind for form in inline.formset.forms] == [
        "created",
        "submitted",
        "accepted",
    ]
    assert {form.instance.tenant_id for form in inline.formset.forms} == {world.alpha.pk}


@pytest.mark.django_db
def test_staff_without_a_membership_sees_nothing(world):
    # given a staff user who belongs to no tenant
    client = admin_client_for(UserFactory(username="drifter"))
    before = tenancy_snapshot()
    # when they open the admin, a changelist and another tenant's order
    index = client.get("/admin/")
    listing = client.get(CHANGELISTS["orders"])
    page = client.get(f"/admin/orders/order/{world.alpha_open.pk}/change/")
    action = client.post(
        CHANGELISTS["orders"],
        {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [world.alpha_open.pk], "index": "0"},
    )
    # then no module is offered, everything is refused, and nothing changed
    assert (index.status_code, index.context["app_list"]) == (200, [])
    assert (listing.status_code, page.status_code, action.status_code) == (403, 403, 403)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", CHANGELISTS)
def test_superuser_without_a_working_tenant_sees_every_tenant(world, root, name):
    # given a superuser who has not picked a tenant
    client = admin_client_for(root)
    # when they open a changelist
    response = client.get(CHANGELISTS[name])
    # then every tenant's rows are there
    expected = {
        "orders": set(Order.objects.all_tenants(reason="test").values_list("pk", flat=True)),
        "memberships": set(
            Membership.objects.all_tenants(reason="test").values_list("pk", flat=True)
        ),
        "tenants": set(Tenant.objects.values_list("pk", flat=True)),
    }[name]
    assert response.status_code == 200
    assert _rows(response) == expected
    assert len(expected) > len(_visible(world, name))


@pytest.mark.django_db
@pytest.mark.parametrize("name", CHANGELISTS)
def test_superuser_with_a_working_tenant_sees_that_tenant(world, root, name):
    # given a superuser who switched to alpha
    client = admin_client_for(root)
    client.post("/admin/switch-tenant/", {"tenant": "alpha"})
    # when they open a changelist
    response = client.get(CHANGELISTS[name])
    # then only alpha's rows are there
    assert _rows(response) == _visible(world, name)


@pytest.mark.django_db
def test_superuser_opens_any_tenants_object(world, root):
    # given a superuser without a working tenant
    client = admin_client_for(root)
    # when they open beta's order
    response = client.get(f"/admin/orders/order/{world.beta_open.pk}/change/")
    # then it is shown
    assert (response.status_code, response.context["original"]) == (200, world.beta_open)


@pytest.mark.django_db
def test_superuser_new_membership_gets_the_working_tenant(world, root):
    # given a superuser working in alpha and a user of no tenant
    newcomer: Any = UserFactory(username="newcomer")
    client = admin_client_for(root)
    client.post("/admin/switch-tenant/", {"tenant": "alpha"})
    form = client.get("/admin/tenancy/membership/add/").context["adminform"].form
    # when they add a membership for the newcomer
    response = client.post(
        "/admin/tenancy/membership/add/",
        {"tenant": world.alpha.pk, "user": newcomer.pk, "role": "trader", "active": "on"},
    )
    # then the only tenant offered was alpha, and the membership is alpha's
    assert list(form.fields["tenant"].queryset) == [world.alpha]
    assert response.status_code == 302
    created = Membership.objects.all_tenants(reason="test").get(user=newcomer)
    assert (created.tenant_id, created.role) == (world.alpha.pk, "trader")


@pytest.mark.django_db
def test_superuser_working_in_one_tenant_cannot_post_another(world, root):
    # given a superuser working in alpha
    newcomer: Any = UserFactory(username="newcomer")
    client = admin_client_for(root)
    client.post("/admin/switch-tenant/", {"tenant": "alpha"})
    before = tenancy_snapshot()
    # when they post a membership in beta
    response = client.post(
        "/admin/tenancy/membership/add/",
        {"tenant": world.beta.pk, "user": newcomer.pk, "role": "trader", "active": "on"},
    )
    # then beta is not a valid choice and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "tenant": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_superuser_without_a_working_tenant_chooses_the_tenant(world, root):
    # given a superuser without a working tenant
    newcomer: Any = UserFactory(username="newcomer")
    client = admin_client_for(root)
    # when they add a membership in beta
    response = client.post(
        "/admin/tenancy/membership/add/",
        {"tenant": world.beta.pk, "user": newcomer.pk, "role": "seller", "active": "on"},
    )
    # then it is beta's
    assert response.status_code == 302
    assert Membership.objects.for_tenant(world.beta).get(user=newcomer).role == "seller"


@pytest.mark.django_db
def test_staff_have_no_global_permissions(world):
    # given the staff users of these tests
    users = [world.alpha_admin, world.alpha_viewer, world.beta_admin, world.beta_seller]
    # when their Django permissions are read
    # then there are none: everything they may do comes from their role in a tenant
    assert [(u.is_staff, u.is_superuser, u.get_all_permissions()) for u in users] == [
        (True, False, set())
    ] * 4


@pytest.mark.django_db
def test_a_non_staff_member_is_kept_out_of_the_admin(world):
    # given a member of alpha who is not staff
    outsider = member(world.alpha, "admin", username="not.staff", is_staff=False)
    client = admin_client_for(outsider)
    before = tenancy_snapshot()
    # when they open a changelist and post a change
    listing = client.get(CHANGELISTS["orders"])
    post = client.post(f"/admin/tenancy/tenant/{world.alpha.pk}/change/", {"name": "Renamed"})
    # then both send them to the login page and nothing changed
    assert (listing.status_code, listing["Location"]) == (
        302,
        "/admin/login/?next=/admin/orders/order/",
    )
    assert (post.status_code, post["Location"]) == (
        302,
        f"/admin/login/?next=/admin/tenancy/tenant/{world.alpha.pk}/change/",
    )
    assert tenancy_snapshot() == before
