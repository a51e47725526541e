from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tenancy.middleware import SESSION_KEY
from tenancy.models import Tenant
from tenancy.selectors import memberships_of_user


@require_POST
@staff_member_required
def admin_tenant_switch(request: HttpRequest) -> HttpResponse:
    """Switch the admin's working tenant; only tenants the user belongs to (any for superusers)."""
    slug = request.POST.get("tenant", "")
    allowed = {m.tenant.slug for m in memberships_of_user(user=request.user)}
    if request.user.is_superuser:
        allowed |= set(Tenant.objects.values_list("slug", flat=True))
    if slug == "" and request.user.is_superuser:
        request.session.pop(SESSION_KEY, None)
    elif slug in allowed:
        request.session[SESSION_KEY] = slug
    else:
        messages.error(request, "You are not a member of that tenant.")
    target = request.POST.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/admin/"
    return HttpResponseRedirect(target)
