"""The base of every tenant-owned model's admin (tenancy/admin_base.py), on a test admin site.

Future apps register their tenant-owned models with ``TenantScopedAdmin``; these tests pin what
they inherit: new rows get the working tenant, uniqueness is validated inside it, related
filters offer only its rows.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import path

from orders.models import OrderEvent, OrderSequence
from tenancy.admin_base import TenantRelatedFieldListFilter, TenantScopedAdmin
from tenancy.views import admin_tenant_switch
from tests.conftest import admin_client_for, tenancy_snapshot

site = admin.AdminSite(name="tenancy_test_admin")


class SequenceAdmin(TenantScopedAdmin):
    """A plain tenant-owned model (kind unique per tenant) with every field editable."""


class EventAdmin(TenantScopedAdmin):
    list_filter = ("order", "kind")


site.register(OrderSequence, SequenceAdmin)
site.register(OrderEvent, EventAdmin)

urlpatterns = [
    path("admin/switch-tenant/", admin_tenant_switch, name="admin-tenant-switch"),
    path("admin/", site.urls),
]

ADD = "/admin/orders/ordersequence/add/"


def _sequences():
    return list(
        OrderSequence.objects.all_tenants(reason="test")
        .order_by("tenant__slug", "kind")
        .values_list("tenant__slug", "kind", "last_value")
    )


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_new_row_gets_the_working_tenant(world):
    # given alpha's admin (beta already has a trade counter; alpha has one from its orders)
    client = admin_client_for(world.alpha_admin)
    OrderSequence.objects.for_tenant(world.alpha).filter(kind="sales").delete()
    # when they add a row, forging beta's id as its tenant
    response = client.post(ADD, {"kind": "sales", "last_value": "7", "tenant": world.beta.pk})
    # then the row is alpha's: the tenant field is not theirs to set
    assert response.status_code == 302
    assert _sequences() == [
        ("alpha", "sales", 7),
        ("alpha", "trade", 2),
        ("beta", "sales", 1),
        ("beta", "trade", 1),
    ]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_add_form_has_no_tenant_field_for_staff(world):
    # given alpha's admin
    client = admin_client_for(world.alpha_admin)
    # when they open the add form
    response = client.get(ADD)
    # then the tenant is not a field
    assert list(response.context["adminform"].form.fields) == ["kind", "last_value"]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_uniqueness_is_validated_inside_the_working_tenant(world):
    # given alpha's admin; alpha already has a trade counter
    client = admin_client_for(world.alpha_admin)
    before = tenancy_snapshot()
    # when they add a second trade counter
    response = client.post(ADD, {"kind": "trade", "last_value": "9"})
    # then it is a form error (not an IntegrityError, a 500) and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Order sequence with this Tenant and Kind already exists."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_another_tenants_row_does_not_block_a_unique_value(world):
    # given beta has a sales counter and alpha does not
    OrderSequence.objects.for_tenant(world.alpha).filter(kind="sales").delete()
    client = admin_client_for(world.alpha_admin)
    # when alpha's admin adds a sales counter
    response = client.post(ADD, {"kind": "sales", "last_value": "3"})
    # then it is created in alpha
    assert response.status_code == 302
    assert OrderSequence.objects.for_tenant(world.alpha).get(kind="sales").last_value == 3


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_superuser_chooses_the_tenant_and_uniqueness_still_applies(world, root):
    # given a superuser without a working tenant; beta already has a sales counter
    client = admin_client_for(root)
    before = tenancy_snapshot()
    # when they add a second sales counter to beta
    response = client.post(ADD, {"tenant": world.beta.pk, "kind": "sales", "last_value": "1"})
    # then the form refuses it and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Order sequence with this Tenant and Kind already exists."]
    }
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_related_list_filter_offers_only_the_working_tenants_rows(world):
    # given journals in both tenants and alpha's admin
    client = admin_client_for(world.alpha_admin)
    # when they open the journal changelist
    response = client.get("/admin/orders/orderevent/")
    # then the "order" filter offers alpha's orders only, and the listed events are alpha's
    (order_filter, _kind_filter) = response.context["cl"].filter_specs
    assert isinstance(order_filter, TenantRelatedFieldListFilter)
    assert {pk for pk, _label in order_filter.lookup_choices} == {
        world.alpha_open.pk,
        world.alpha_held.pk,
        world.alpha_sale.pk,
    }
    assert {e.tenant_id for e in response.context["cl"].result_list} == {world.alpha.pk}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_filtering_by_another_tenants_order_lists_nothing(world):
    # given alpha's admin and beta's order id
    client = admin_client_for(world.alpha_admin)
    # when they filter the journal by beta's order
    response = client.get("/admin/orders/orderevent/", {"order__id__exact": world.beta_open.pk})
    # then nothing is listed
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_without_a_working_tenant_staff_see_no_rows(world):
    # given a request of a staff user for whom no tenant was resolved
    request = RequestFactory().get("/admin/orders/orderevent/")
    request.user = world.alpha_admin
    request.admin_tenant = None  # type: ignore[attr-defined]  # set by the middleware
    model_admin = EventAdmin(OrderEvent, site)
    # when the admin's queryset and permissions are asked for
    # then it is empty and nothing is permitted
    assert list(model_admin.get_queryset(request)) == []
    assert (
        model_admin.has_view_permission(request),
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request),
        model_admin.has_delete_permission(request),
    ) == (False, False, False, False)


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "expected"), [("alpha_admin", "alpha"), ("root", "beta")])
def test_save_model_stamps_the_working_tenant_unless_a_superuser_chose(world, root, who, expected):
    # given a new row that names beta, saved in a request working in alpha (whatever the form)
    OrderSequence.objects.all_tenants(reason="test").filter(kind="sales").delete()
    request = RequestFactory().post(ADD)
    request.user = root if who == "root" else world.alpha_admin
    request.admin_tenant = world.alpha  # type: ignore[attr-defined]  # set by the middleware
    row = OrderSequence(tenant=world.beta, kind="sales", last_value=4)
    # when the admin saves it
    SequenceAdmin(OrderSequence, site).save_model(request, row, form=None, change=False)
    # then staff rows get the working tenant; a superuser's explicit choice stands
    assert (
        OrderSequence.objects.all_tenants(reason="test").get(kind="sales").tenant.slug == expected
    )
