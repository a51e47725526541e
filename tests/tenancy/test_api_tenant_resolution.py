"""API tenant resolution (tenancy/api.py: tenant_resolve_for_api, TenantAPIView.initial)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus
from tenancy.models import Membership
from tests.conftest import client_for, member, tenancy_snapshot
from tests.factories import MembershipFactory, TenantFactory, UserFactory, order_in_status

ORDERS = "/api/v1/orders/"
NEW_ORDER = {"kind": "trade", "client_order_id": "resolution-1"}
NOT_A_MEMBER = {"code": "permission_denied", "detail": "You are not a member of this tenant."}
NO_TENANT = {"code": "permission_denied", "detail": "You are not a member of any tenant."}
NAME_ONE = {
    "code": "invalid",
    "detail": "Invalid input.",
    "errors": {"X-Tenant": ["Required: you belong to several tenants; name one by slug."]},
}


@pytest.fixture
def orders_in_both(tenant, other_tenant):
    return {
        "alpha": order_in_status(tenant=tenant, status=OrderStatus.OPEN),
        "beta": order_in_status(tenant=other_tenant, status=OrderStatus.OPEN),
    }


@pytest.fixture
def dual(tenant, other_tenant):
    """A trader in alpha and in beta."""
    user = member(tenant, "trader", username="dual.trader")
    MembershipFactory(tenant=other_tenant, user=user, role="trader")
    return user


def _ids(response):
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_single_membership_resolves_to_that_tenant(orders_in_both, trader):
    # given a trader of alpha only, orders in alpha and beta
    api = client_for(trader)
    # when they list orders without naming a tenant
    response = api.get(ORDERS)
    # then they get alpha's orders
    assert response.status_code == 200
    assert _ids(response) == [orders_in_both["alpha"].pk]


@pytest.mark.django_db
def test_single_membership_may_name_its_own_tenant(orders_in_both, trader):
    # given a trader of alpha only
    api = client_for(trader, "alpha")
    # when they name alpha
    response = api.get(ORDERS)
    # then it is alpha
    assert response.status_code == 200
    assert _ids(response) == [orders_in_both["alpha"].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_several_memberships_use_the_named_tenant(orders_in_both, dual, slug):
    # given a trader of alpha and beta
    api = client_for(dual, slug)
    # when they name one tenant
    response = api.get(ORDERS)
    # then they see that tenant's orders only
    assert response.status_code == 200
    assert _ids(response) == [orders_in_both[slug].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, ""])
def test_several_memberships_without_x_tenant_is_a_400_naming_the_header(
    orders_in_both, dual, header
):
    # given a trader of alpha and beta
    api = client_for(dual)
    if header is not None:
        api.credentials(HTTP_X_TENANT=header)
    before = tenancy_snapshot()
    # when they read and write without naming a tenant
    listing = api.get(ORDERS)
    create = api.post(ORDERS, NEW_ORDER, format="json")
    # then both are a 400 naming X-Tenant, and nothing was created
    assert (listing.status_code, listing.json()) == (400, NAME_ONE)
    assert (create.status_code, create.json()) == (400, NAME_ONE)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_unknown_and_foreign_slugs_answer_the_same_403(orders_in_both, trader):
    # given a trader of alpha; beta exists, "nowhere" does not
    before = tenancy_snapshot()
    # when they name beta, then a slug that does not exist, reading and writing
    foreign = client_for(trader, "beta")
    unknown = client_for(trader, "nowhere")
    responses = [
        foreign.get(ORDERS),
        unknown.get(ORDERS),
        foreign.get(f"{ORDERS}{orders_in_both['beta'].pk}/"),
        unknown.get(f"{ORDERS}{orders_in_both['beta'].pk}/"),
        foreign.post(ORDERS, NEW_ORDER, format="json"),
        unknown.post(ORDERS, NEW_ORDER, format="json"),
    ]
    # then every answer is the same 403, so probing reveals nothing; nothing changed
    assert [(r.status_code, r.json()) for r in responses] == [(403, NOT_A_MEMBER)] * 6
    assert responses[0].content == responses[1].content
    assert tenancy_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [None, "alpha"])
def test_unauthenticated_is_a_401(orders_in_both, slug):
    # given no credentials (with or without a tenant header)
    api = APIClient()
    if slug:
        api.credentials(HTTP_X_TENANT=slug)
    before = tenancy_snapshot()
    # when the API is called
    listing = api.get(ORDERS)
    create = api.post(ORDERS, NEW_ORDER, format="json")
    # then it is a 401 that invites token authentication, and nothing changed
    expected = {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }
    assert (listing.status_code, listing.json()) == (401, expected)
    assert (create.status_code, create.json()) == (401, expected)
    assert listing["WWW-Authenticate"] == "Token"
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_a_bad_token_is_a_401(orders_in_both):
    # given a token that does not exist
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef", HTTP_X_TENANT="alpha")
    # when the API is called
    response = api.get(ORDERS)
    # then it is a 401
    assert (response.status_code, response.json()) == (
        401,
        {"code": "authentication_failed", "detail": "Invalid token."},
    )


@pytest.mark.django_db
def test_token_authentication_resolves_the_tenant_too(orders_in_both, dual):
    # given a trader of alpha and beta with an API token
    token = Token.objects.create(user=dual)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_TENANT="beta")
    # when they list orders naming beta
    response = api.get(ORDERS)
    # then they see beta's orders
    assert response.status_code == 200
    assert _ids(response) == [orders_in_both["beta"].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [None, "alpha"])
def test_a_user_with_no_membership_is_a_403(orders_in_both, slug):
    # given an authenticated user who belongs to no tenant
    api = client_for(UserFactory(username="nobody"), slug)
    before = tenancy_snapshot()
    # when they read and write
    listing = api.get(ORDERS)
    create = api.post(ORDERS, NEW_ORDER, format="json")
    # then both are a 403 and nothing was created
    expected = NOT_A_MEMBER if slug else NO_TENANT
    assert (listing.status_code, listing.json()) == (403, expected)
    assert (create.status_code, create.json()) == (403, expected)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_an_inactive_membership_is_not_usable(orders_in_both, tenant, other_tenant):
    # given a trader of alpha whose beta membership is inactive
    user = member(tenant, "trader", username="half.trader")
    MembershipFactory(tenant=other_tenant, user=user, role="trader", active=False)
    before = tenancy_snapshot()
    # when they call without a header, and naming beta
    implicit = client_for(user).get(ORDERS)
    named = client_for(user, "beta").get(ORDERS)
    create = client_for(user, "beta").post(ORDERS, NEW_ORDER, format="json")
    # then alpha is their only tenant; beta answers like a tenant they never joined
    assert implicit.status_code == 200
    assert _ids(implicit) == [orders_in_both["alpha"].pk]
    assert (named.status_code, named.json()) == (403, NOT_A_MEMBER)
    assert (create.status_code, create.json()) == (403, NOT_A_MEMBER)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_a_membership_of_an_inactive_tenant_is_not_usable(orders_in_both, other_tenant):
    # given a trader whose only tenant has been deactivated
    dormant: Any = TenantFactory(slug="dormant")
    order_in_status(tenant=dormant)
    user = member(dormant, "trader", username="dormant.trader")
    dormant.active = False
    dormant.save(update_fields=["active"])
    before = tenancy_snapshot()
    # when they call without a header, and naming their tenant
    implicit = client_for(user).get(ORDERS)
    named = client_for(user, "dormant").post(ORDERS, NEW_ORDER, format="json")
    # then they have no usable tenant, and nothing was created
    assert (implicit.status_code, implicit.json()) == (403, NO_TENANT)
    assert (named.status_code, named.json()) == (403, NOT_A_MEMBER)
    assert tenancy_snapshot() == before


@pytest.mark.django_db
def test_an_inactive_tenant_among_several_leaves_one_usable(orders_in_both, tenant, other_tenant):
    # given a trader of alpha and beta; beta is deactivated
    user = member(tenant, "trader", username="two.trader")
    MembershipFactory(tenant=other_tenant, user=user, role="trader")
    other_tenant.active = False
    other_tenant.save(update_fields=["active"])
    # when they call without a header
    response = client_for(user).get(ORDERS)
    # then alpha is resolved without asking which tenant
    assert response.status_code == 200
    assert _ids(response) == [orders_in_both["alpha"].pk]


@pytest.mark.django_db
def test_a_revoked_membership_stops_working_on_the_next_request(orders_in_both, tenant, trader):
    # given a trader of alpha who has made a request
    api = client_for(trader)
    assert api.get(ORDERS).status_code == 200
    # when their membership is deactivated
    Membership.objects.for_tenant(tenant).filter(user=trader).update(active=False)
    # then their next request has no tenant and creates nothing
    response = api.post(ORDERS, NEW_ORDER, format="json")
    assert (response.status_code, response.json()) == (403, NO_TENANT)
    assert Order.objects.for_tenant(tenant).count() == 1
