"""Shopify Admin REST API: order webhooks, the reconciliation poll, fulfilments.

The channel's ``endpoint`` is the shop's versioned Admin API base, e.g.
``https://example.myshopify.com/admin/api/2024-07``; requests carry
``X-Shopify-Access-Token``.

- Webhooks ``orders/create`` and ``orders/updated``: the body is the order JSON;
  ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body keyed by the app's
  webhook secret (:func:`webhook_signature_valid`, compared in constant time);
  ``X-Shopify-Webhook-Id`` identifies a delivery (duplicates are dropped by
  ``WebhookEvent``'s unique constraint, see ``commerce.services.webhooks``).
- Reconciliation poll (webhooks can be lost): ``GET /orders.json?status=any&updated_at_min=..
  &updated_at_max=..&limit=250``; the next page is the ``rel="next"`` URL of the ``Link``
  header (cursor ``page_info``; the page token is that URL). A full bucket
  (``X-Shopify-Shop-Api-Call-Limit: 40/40``) is answered with 429 + ``Retry-After``.
- Fulfilment: ``GET /orders/{id}/fulfillment_orders.json``, then ``POST /fulfillments.json``
  with ``line_items_by_fulfillment_order`` (fulfilment order line items matched to the shipped
  order line ids) and ``tracking_info`` (``company``, ``number``).

Credentials: ``access_token``, ``webhook_secret``.

Status mapping: ``cancelled_at`` set -> canceled; ``financial_status`` pending, authorized or
voided -> pending (not paid yet: imported once paid); ``fulfillment_status`` fulfilled ->
shipped; otherwise (paid, partially_refunded, refunded... with nothing or part fulfilled) ->
open. ``price`` is the unit price; ``total_discount`` and ``tax_lines[].price`` are line
amounts; shipping is the sum of ``shipping_lines[].price``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from decimal import Decimal
from typing import Any

from commerce.marketplaces.base import (
    Connector,
    MarketLine,
    MarketOrder,
    MarketState,
    Page,
    ShipmentConfirmation,
    Window,
    connector_register,
)
from commerce.marketplaces.http import HttpClient, MarketplaceError
from commerce.marketplaces.util import (
    BadOrder,
    decimal_of,
    iso_utc,
    mapping,
    object_list,
    parse_time,
    text,
)

ZERO = Decimal("0")
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
PENDING_FINANCIAL = frozenset({"pending", "authorized", "voided"})


def webhook_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_signature_valid(body: bytes, secret: str, header: str) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(webhook_signature(body, secret), header.strip())


def next_link(header: str) -> str | None:
    match = NEXT_LINK.search(header or "")
    return match.group(1) if match else None


def order_from_json(raw: Any) -> MarketOrder:
    """One Shopify order (webhook body or an ``orders`` entry) as a :class:`MarketOrder`."""
    if not isinstance(raw, dict):
        raise BadOrder("The order is not a JSON object.")
    order_id = text(raw.get("id"), 128)
    if not order_id:
        raise BadOrder("id is missing.")
    financial = text(raw.get("financial_status"), 40)
    fulfilment = text(raw.get("fulfillment_status"), 40)
    if raw.get("cancelled_at"):
        state, status = MarketState.CANCELED, "cancelled"
    elif financial in PENDING_FINANCIAL:
        state, status = MarketState.PENDING, financial
    elif fulfilment == "fulfilled":
        state, status = MarketState.SHIPPED, "fulfilled"
    else:
        state, status = MarketState.OPEN, f"{financial}/{fulfilment or 'unfulfilled'}"
    lines = []
    for item in raw.get("line_items") or []:
        if not isinstance(item, dict):
            raise BadOrder("line_items entry is not an object.")
        lines.append(
            MarketLine(
                external_line_id=text(item.get("id"), 128),
                sku=text(item.get("sku"), 64),
                quantity=decimal_of(item.get("quantity"), what="line_items.quantity"),
                unit_price=decimal_of(item.get("price"), what="line_items.price"),
                tax=sum(
                    (
                        decimal_of(t.get("price"), what="tax_lines.price", default=ZERO)
                        for t in item.get("tax_lines") or []
                    ),
                    ZERO,
                ),
                discount=decimal_of(
                    item.get("total_discount"), what="total_discount", default=ZERO
                ),
            )
        )
    shipping = sum(
        (
            decimal_of(s.get("price"), what="shipping_lines.price", default=ZERO)
            for s in raw.get("shipping_lines") or []
        ),
        ZERO,
    )
    address = raw.get("shipping_address") or {}
    customer = raw.get("customer") or {}
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    return MarketOrder(
        external_id=order_id,
        state=state,
        marketplace_status=status,
        updated_at=parse_time(raw.get("updated_at"), what="updated_at"),
        placed_at=parse_time(raw.get("created_at"), what="created_at"),
        currency=text(raw.get("currency"), 3),
        lines=tuple(lines),
        shipping_total=shipping,
        customer_name=text(name, 200),
        customer_email=text(raw.get("email"), 254),
        ship_name=text(address.get("name"), 200),
        ship_line1=text(address.get("address1"), 200),
        ship_line2=text(address.get("address2"), 200),
        ship_city=text(address.get("city"), 100),
        ship_region=text(address.get("province"), 100),
        ship_postal_code=text(address.get("zip"), 20),
        ship_country=text(address.get("country_code"), 2).upper(),
    )


class ShopifyConnector(Connector):
    page_size = 250

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.http = HttpClient(channel.endpoint)

    def close(self) -> None:
        self.http.close()

    def _headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.credential("access_token")}

    def fetch_page(self, window: Window, token: str | None) -> Page:
        if token:
            answer = self.http.request("GET", token, headers=self._headers())
        else:
            params = {
                "status": "any",
                "updated_at_min": iso_utc(window.start),
                "updated_at_max": iso_utc(window.end),
                "limit": self.page_size,
            }
            answer = self.http.request(
                "GET", "/orders.json", params=params, headers=self._headers()
            )
        body = mapping(answer.json(), what="orders.json response")
        page = Page(orders=[], next_token=next_link(answer.header("Link")))
        for raw in object_list(body, "orders", what="orders.json"):
            try:
                page.orders.append(order_from_json(raw))
            except BadOrder as exc:
                order_id = text(raw.get("id"), 128) if isinstance(raw, dict) else ""
                page.rejected.append((order_id or "?", str(exc)))
        return page

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        answer = self.http.request(
            "GET",
            f"/orders/{confirmation.external_id}/fulfillment_orders.json",
            headers=self._headers(),
        )
        body = mapping(answer.json(), what="fulfillment_orders response")
        shipped = {line.external_line_id: int(line.quantity) for line in confirmation.lines}
        groups = []
        for fo in object_list(body, "fulfillment_orders", what="fulfillment_orders"):
            if not isinstance(fo, dict) or fo.get("status") not in ("open", "in_progress", None):
                continue
            items = []
            for item in fo.get("line_items") or []:
                wanted = shipped.get(str(item.get("line_item_id")), 0)
                quantity = min(wanted, int(item.get("fulfillable_quantity") or 0))
                if quantity > 0:
                    items.append({"id": item.get("id"), "quantity": quantity})
                    shipped[str(item.get("line_item_id"))] = wanted - quantity
            if items:
                groups.append(
                    {"fulfillment_order_id": fo.get("id"), "fulfillment_order_line_items": items}
                )
        if not groups:
            raise MarketplaceError("No open fulfillment order holds the shipped lines.")
        self.http.request(
            "POST",
            "/fulfillments.json",
            headers=self._headers(),
            json_body={
                "fulfillment": {
                    "line_items_by_fulfillment_order": groups,
                    "tracking_info": {
                        "company": confirmation.carrier,
                        "number": confirmation.tracking_number,
                    },
                    "notify_customer": True,
                }
            },
        )


connector_register("shopify", ShopifyConnector)
