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
  header (cursor ``page_info``; the page token is that URL). The cursor is server-side: an
  order changing while the run pages does not shift the later pages (it leaves the window,
  its change is read by the next run or arrives by webhook). A full bucket
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
    page_of,
)
from commerce.marketplaces.http import HttpClient, MarketplaceError
from commerce.marketplaces.util import BadOrder, Json, iso_utc

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
    """One Shopify order (webhook body or an ``orders`` entry) as a :class:`MarketOrder`
    (``BadOrder`` naming the field when it does not have the documented shape)."""
    order = Json.order(raw)
    order_id = order.text("id", 128)
    if not order_id:
        raise BadOrder("id is missing.", field="id")
    return _order(order, order_id)


def _state(raw: Json) -> tuple[MarketState, str]:
    financial = raw.text("financial_status", 40)
    fulfilment = raw.text("fulfillment_status", 40)
    if raw.get("cancelled_at"):
        return MarketState.CANCELED, "cancelled"
    if financial in PENDING_FINANCIAL:
        return MarketState.PENDING, financial
    if fulfilment == "fulfilled":
        return MarketState.SHIPPED, "fulfilled"
    return MarketState.OPEN, f"{financial}/{fulfilment or 'unfulfilled'}"


def _order(raw: Json, order_id: str) -> MarketOrder:
    state, status = _state(raw)
    lines = [
        MarketLine(
            external_line_id=item.text("id", 128),
            sku=item.text("sku", 64),
            quantity=item.decimal("quantity"),
            unit_price=item.decimal("price"),
            tax=sum((t.decimal("price", default=ZERO) for t in item.objs("tax_lines")), ZERO),
            discount=item.decimal("total_discount", default=ZERO),
        )
        for item in raw.objs("line_items")
    ]
    shipping = sum((s.decimal("price", default=ZERO) for s in raw.objs("shipping_lines")), ZERO)
    address = raw.obj("shipping_address")
    customer = raw.obj("customer")
    first, last = customer.text("first_name", 100), customer.text("last_name", 100)
    return MarketOrder(
        external_id=order_id,
        state=state,
        marketplace_status=status,
        updated_at=raw.time("updated_at"),
        placed_at=raw.time("created_at"),
        currency=raw.text("currency", 3),
        lines=tuple(lines),
        shipping_total=shipping,
        customer_name=" ".join(p for p in (first, last) if p)[:200],
        customer_email=raw.text("email", 254),
        ship_name=address.text("name", 200),
        ship_line1=address.text("address1", 200),
        ship_line2=address.text("address2", 200),
        ship_city=address.text("city", 100),
        ship_region=address.text("province", 100),
        ship_postal_code=address.text("zip", 20),
        ship_country=address.text("country_code", 2).upper(),
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
        body = Json.answer(answer.json(), "orders.json response")
        return page_of(
            body.array("orders"),
            id_key="id",
            parse=_order,
            next_token=next_link(answer.header("Link")),
        )

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        answer = self.http.request(
            "GET",
            f"/orders/{confirmation.external_id}/fulfillment_orders.json",
            headers=self._headers(),
        )
        body = Json.answer(answer.json(), "fulfillment_orders response")
        shipped = {line.external_line_id: int(line.quantity) for line in confirmation.lines}
        groups = []
        for fo in body.objs("fulfillment_orders"):
            if fo.get("status") not in ("open", "in_progress", None):
                continue
            items = []
            for item in fo.objs("line_items"):
                line_id = item.text("line_item_id", 128)
                wanted = shipped.get(line_id, 0)
                quantity = min(wanted, int(item.decimal("fulfillable_quantity", default=ZERO)))
                if quantity > 0:
                    items.append({"id": item.get("id"), "quantity": quantity})
                    shipped[line_id] = wanted - quantity
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
