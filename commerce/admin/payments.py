"""Commerce admin: FX rates, payments (operations inline, money read-only), refunds, the returns
desk (transition and exchange buttons through the services) and invoices (PDF download).

Money never changes by editing a row here: payments, operations, refunds and invoices are
read-only; returns move only through ``commerce.services.returns``; FX rates are written through
``commerce.services.payments.fx_rate_*``. Another tenant's object answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django_fsm import can_proceed

from commerce.models import (
    FxRate,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentOperation,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
)
from commerce.services.exchanges import return_exchange_create
from commerce.services.fx_rates import fx_rate_create, fx_rate_update
from commerce.services.invoices import invoice_pdf
from commerce.services.returns import TRANSITIONS, return_transition
from oms_site.errors import ApplicationError
from tenancy.admin_base import ReadOnlyChildInline, TenantScopedAdmin, request_tenant
from tenancy.roles import REFERENCE_DATA, SALES_ENTRY
from tenancy.selectors import user_has_role


def _refusal(what: str, exc: ApplicationError) -> str:
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
    return f"{what} refused: {exc.message}" + (f" ({details})" if details else "")


class ReadOnlyAdmin(TenantScopedAdmin):
    """Visible to every member; nobody adds, changes or deletes rows here."""

    add_roles = ()
    change_roles = ()
    delete_roles = ()


# --- FX rates -------------------------------------------------------------------------------


@admin.register(FxRate)
class FxRateAdmin(TenantScopedAdmin):
    list_display = ("date", "from_currency", "to_currency", "rate")
    list_filter = ("from_currency", "to_currency")
    date_hierarchy = "date"
    add_roles = REFERENCE_DATA
    change_roles = REFERENCE_DATA
    delete_roles = REFERENCE_DATA
    fields = ("date", "from_currency", "to_currency", "rate")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("date", "from_currency", "to_currency") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: FxRate, form: Any, change: bool) -> None:
        tenant = request_tenant(request) or obj.tenant
        if change:
            saved = fx_rate_update(
                tenant=tenant, actor=request.user, fx_rate_id=obj.pk, rate=obj.rate
            )
        else:
            saved = fx_rate_create(
                tenant=tenant,
                actor=request.user,
                date=obj.date,
                from_currency=obj.from_currency,
                to_currency=obj.to_currency,
                rate=obj.rate,
            )
        obj.pk, obj.tenant = saved.pk, saved.tenant


# --- payments and refunds -------------------------------------------------------------------


class PaymentOperationInline(ReadOnlyChildInline):
    model = PaymentOperation
    fields = (
        "created_at",
        "kind",
        "idempotency_key",
        "amount",
        "currency",
        "fx_rate",
        "amount_base",
        "base_currency",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyChildInline):
    model = Refund
    fk_name = "payment"
    fields = ("created_at", "amount", "shipping", "currency", "amount_base", "reason")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_reference",
        "method",
        "currency",
        "authorized",
        "captured",
        "refunded",
        "state",
        "created_at",
    )
    list_filter = ("state", "currency", "method")
    search_fields = ("sales_order__order__reference", "provider_reference")
    list_select_related = ("sales_order__order",)
    inlines = (PaymentOperationInline, RefundInline)
    readonly_fields = (
        "sales_order",
        "method",
        "provider_reference",
        "currency",
        "authorized",
        "captured",
        "refunded",
        "state",
    )
    fields = readonly_fields

    @admin.display(description="order", ordering="sales_order__order__reference")
    def order_reference(self, obj: Payment) -> str:
        return obj.sales_order.order.reference


class RefundLineInline(ReadOnlyChildInline):
    model = RefundLine
    fields = ("line", "quantity", "amount", "discount", "tax", "restock")
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_reference",
        "amount",
        "shipping",
        "currency",
        "amount_base",
        "base_currency",
        "created_at",
    )
    list_filter = ("currency",)
    search_fields = ("sales_order__order__reference", "reason")
    list_select_related = ("sales_order__order",)
    inlines = (RefundLineInline,)
    readonly_fields = (
        "sales_order",
        "payment",
        "operation",
        "return_request",
        "amount",
        "shipping",
        "currency",
        "fx_rate",
        "amount_base",
        "base_currency",
        "reason",
    )
    fields = readonly_fields

    @admin.display(description="order", ordering="sales_order__order__reference")
    def order_reference(self, obj: Refund) -> str:
        return obj.sales_order.order.reference


# --- the returns desk -----------------------------------------------------------------------


class ReturnLineInline(ReadOnlyChildInline):
    model = ReturnLine
    fields = ("line", "quantity", "restock", "restocked_quantity")
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin):
    """The returns desk: every RMA with its state; the change page carries the transition
    buttons allowed from the current state and the exchange button."""

    change_form_template = "admin/commerce/return/change_form.html"
    list_display = (
        "rma_number",
        "order_reference",
        "state",
        "warehouse",
        "exchange_order",
        "created_at",
    )
    list_filter = ("state", "warehouse")
    search_fields = ("rma_number", "sales_order__order__reference", "sales_order__external_id")
    list_select_related = ("sales_order__order", "warehouse")
    inlines = (ReturnLineInline,)
    readonly_fields = (
        "rma_number",
        "sales_order",
        "state",
        "reason",
        "resolution_note",
        "warehouse",
        "exchange_order",
    )
    fields = readonly_fields

    @admin.display(description="order", ordering="sales_order__order__reference")
    def order_reference(self, obj: Return) -> str:
        return obj.sales_order.order.reference

    def _may_work(self, request: HttpRequest) -> bool:
        tenant = request_tenant(request)
        return bool(
            request.user.is_superuser
            or (
                tenant is not None
                and user_has_role(user=request.user, tenant_id=tenant.pk, roles=SALES_ENTRY)
            )
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        allowed: list[str] = []
        may_exchange = False
        if obj is not None and self._may_work(request):
            allowed = [name for name in TRANSITIONS if can_proceed(getattr(obj, name))]
            may_exchange = obj.exchange_order_id is None and obj.state in (
                "approved",
                "received",
                "restocked",
            )
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "transitions": allowed,
            "may_exchange": may_exchange,
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                wrap(self.transition_view),
                name="commerce_return_transition",
            ),
            path(
                "<path:object_id>/exchange/",
                wrap(self.exchange_view),
                name="commerce_return_exchange",
            ),
            *super().get_urls(),
        ]

    def _return_or_404(self, request: HttpRequest, object_id: str) -> Return:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        return obj

    def _back(self, obj: Return) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:commerce_return_change", args=[obj.pk]))

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        obj = self._return_or_404(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        try:
            return_transition(
                tenant=obj.tenant,
                actor=request.user,
                return_id=obj.pk,
                transition=name,
                note=request.POST.get("note", "")[:500],
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal(name.capitalize(), exc), messages.ERROR)
        else:
            self.message_user(request, f"{obj.rma_number}: {name} done.")
        return self._back(obj)

    def exchange_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._return_or_404(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        try:
            replacement = return_exchange_create(
                tenant=obj.tenant, actor=request.user, return_id=obj.pk
            )
        except ApplicationError as exc:
            self.message_user(request, _refusal("Exchange", exc), messages.ERROR)
        else:
            self.message_user(
                request, f"{obj.rma_number}: exchange order {replacement.order.reference} created."
            )
        return self._back(obj)


# --- invoices -------------------------------------------------------------------------------


class InvoiceLineInline(ReadOnlyChildInline):
    model = InvoiceLine
    fields = ("line_no", "sku", "description", "quantity", "unit_price", "discount", "tax", "total")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    change_form_template = "admin/commerce/invoice/change_form.html"
    list_display = (
        "number",
        "kind",
        "order_reference",
        "issued_at",
        "total",
        "currency",
        "pdf_link",
    )
    list_filter = ("kind", "year", "currency")
    search_fields = ("number", "sales_order__order__reference")
    list_select_related = ("sales_order__order",)
    inlines = (InvoiceLineInline,)
    readonly_fields = (
        "number",
        "kind",
        "sales_order",
        "issued_at",
        "credited_invoice",
        "currency",
        "subtotal",
        "tax_total",
        "shipping_total",
        "total",
        "bill_to",
    )
    fields = readonly_fields

    @admin.display(description="order", ordering="sales_order__order__reference")
    def order_reference(self, obj: Invoice) -> str:
        return obj.sales_order.order.reference

    @admin.display(description="PDF")
    def pdf_link(self, obj: Invoice) -> str:
        url = reverse("admin:commerce_invoice_pdf", args=[obj.pk])
        return format_html('<a href="{}">Download</a>', url)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="commerce_invoice_pdf"),
            *super().get_urls(),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return super().get_queryset(request).select_related("sales_order__order")

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("Not found.")
        invoice, document = invoice_pdf(tenant=obj.tenant, invoice_id=obj.pk)
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response
