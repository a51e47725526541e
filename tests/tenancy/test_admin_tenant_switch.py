"""The admin's working tenant (tenancy/middleware.py) and its switcher (tenancy/views.py)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from tenancy.middleware import SESSION_KEY
from tenancy.models import Membership
from tests.conftest import admin_client_for, member
from tests.factories import MembershipFactory, TenantFactory

SWITCH = "/admin/switch-tenant/"
ORDERS = "/admin/orders/order/"
REFUSED = ["You are not a member of that tenant."]


@pytest.fixture
def dual(world):
    """Admin of alpha, viewer of beta."""
    user = member(world.alpha, "admin", username="dual.user")
    MembershipFactory(tenant=world.beta, user=user, role="viewer")
    return user


def _orders_listed(client):
    return {o.pk for o in client.get(ORDERS).context["cl"].result_list}


def _messages(response):
    return [m.message for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_first_membership_is_the_default_working_tenant(world, dual):
    # given a member of alpha and beta who never switched
    client = admin_client_for(dual)
    # when they open the orders changelist
    response = client.get(ORDERS)
    # then they work in alpha (the first by slug), and the switcher lists both memberships
    assert response.context["admin_tenant"] == world.alpha
    assert [m.tenant.slug for m in response.context["admin_memberships"]] == ["alpha", "beta"]
    assert _orders_listed(client) == {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk}


@pytest.mark.django_db
def test_switch_to_a_tenant_of_ones_own(world, dual):
    # given a member of alpha and beta
    client = admin_client_for(dual)
    # when they switch to beta
    response = client.post(SWITCH, {"tenant": "beta", "next": ORDERS})
    # then they are sent back, work in beta and see beta's rows
    assert (response.status_code, response["Location"]) == (302, ORDERS)
    assert client.session[SESSION_KEY] == "beta"
    assert _messages(response) == []
    assert _orders_listed(client) == {world.beta_open.pk, world.beta_sale.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["beta", "nowhere", ""])
def test_switch_to_a_tenant_one_does_not_belong_to_is_refused(world, slug):
    # given alpha's admin (not a member of beta; "nowhere" does not exist)
    client = admin_client_for(world.alpha_admin)
    # when they try to switch to it
    response = client.post(SWITCH, {"tenant": slug})
    # then it is refused alike for every slug, the session is unchanged and alpha stays
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert _messages(response) == REFUSED
    assert SESSION_KEY not in client.session
    assert _orders_listed(client) == {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk}


@pytest.mark.django_db
def test_a_refused_switch_keeps_the_previous_choice(world, dual):
    # given a member of alpha and beta working in beta
    client = admin_client_for(dual)
    client.post(SWITCH, {"tenant": "beta"})
    # when they try to switch to a tenant they do not belong to
    TenantFactory(slug="gamma")
    response = client.post(SWITCH, {"tenant": "gamma"})
    # then they still work in beta
    assert _messages(response) == REFUSED
    assert client.session[SESSION_KEY] == "beta"
    assert _orders_listed(client) == {world.beta_open.pk, world.beta_sale.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["membership", "tenant"])
def test_switch_to_an_inactive_membership_or_tenant_is_refused(world, dual, what):
    # given a member of alpha and beta whose beta membership (or beta itself) is inactive
    if what == "membership":
        Membership.objects.for_tenant(world.beta).filter(user=dual).update(active=False)
    else:
        world.beta.active = False
        world.beta.save(update_fields=["active"])
    client = admin_client_for(dual)
    # when they try to switch to beta
    response = client.post(SWITCH, {"tenant": "beta"})
    # then it is refused and they stay in alpha
    assert _messages(response) == REFUSED
    assert SESSION_KEY not in client.session
    assert _orders_listed(client) == {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk}


@pytest.mark.django_db
def test_a_tenant_left_after_switching_is_no_longer_the_working_tenant(world, dual):
    # given a member of alpha and beta working in beta
    client = admin_client_for(dual)
    client.post(SWITCH, {"tenant": "beta"})
    # when their beta membership is deactivated (the session still names beta)
    Membership.objects.for_tenant(world.beta).filter(user=dual).update(active=False)
    # then the next request falls back to alpha
    assert client.session[SESSION_KEY] == "beta"
    assert _orders_listed(client) == {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk}


@pytest.mark.django_db
def test_a_forged_session_cannot_choose_a_foreign_tenant(world):
    # given alpha's admin whose session names beta (as if forged)
    client = admin_client_for(world.alpha_admin)
    session = client.session
    session[SESSION_KEY] = "beta"
    session.save()
    # when they open the changelist
    # then they still work in alpha
    assert _orders_listed(client) == {world.alpha_open.pk, world.alpha_held.pk, world.alpha_sale.pk}


@pytest.mark.django_db
def test_a_superuser_switches_to_any_tenant_and_back_to_all(world, root):
    # given a superuser who belongs to no tenant
    client = admin_client_for(root)
    # when they switch to beta, then back to "all tenants"
    to_beta = client.post(SWITCH, {"tenant": "beta"})
    in_beta = _orders_listed(client)
    to_all = client.post(SWITCH, {"tenant": ""})
    # then they saw beta only, then every tenant
    assert (_messages(to_beta), _messages(to_all)) == ([], [])
    assert in_beta == {world.beta_open.pk, world.beta_sale.pk}
    assert SESSION_KEY not in client.session
    assert _orders_listed(client) == {
        world.alpha_open.pk,
        world.alpha_held.pk,
        world.alpha_sale.pk,
        world.beta_open.pk,
        world.beta_sale.pk,
    }


@pytest.mark.django_db
def test_a_superuser_cannot_switch_to_a_tenant_that_does_not_exist(world, root):
    # given a superuser
    client = admin_client_for(root)
    # when they switch to a slug that does not exist
    response = client.post(SWITCH, {"tenant": "nowhere"})
    # then it is refused and they keep seeing all tenants
    assert _messages(response) == REFUSED
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_switch_is_post_only(world, dual):
    # given a member of alpha and beta
    client = admin_client_for(dual)
    # when the switch is requested with GET (a link in a mail, an <img>)
    response = client.get(SWITCH, {"tenant": "beta"})
    # then it is refused and nothing switched
    assert response.status_code == 405
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_switch_needs_a_staff_login(world):
    # given a member of beta who is not staff
    outsider = member(world.beta, "admin", username="not.staff", is_staff=False)
    client = admin_client_for(outsider)
    # when they post a switch
    response = client.post(SWITCH, {"tenant": "beta"})
    # then they are sent to the admin login and nothing switched
    assert (response.status_code, response["Location"]) == (
        302,
        "/admin/login/?next=/admin/switch-tenant/",
    )
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/admin/tenancy/membership/", "/admin/tenancy/membership/"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("", "/admin/"),
    ],
)
def test_switch_redirects_only_inside_the_site(world, dual, next_url, location):
    # given a member of alpha and beta
    client = admin_client_for(dual)
    # when they switch with a "next" address
    response = client.post(SWITCH, {"tenant": "beta", "next": next_url})
    # then they go back to it only if it is on this site
    assert (response.status_code, response["Location"]) == (302, location)
