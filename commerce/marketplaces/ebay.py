"""eBay Sell Fulfillment API (``/sell/fulfillment/v1``).

- OAuth: a user access token, refreshed at ``auth_endpoint`` (default
  ``https://api.ebay.com/identity/v1/oauth2/token``) with ``grant_type=refresh_token`` and HTTP
  Basic ``client_id:client_secret``, cached until 60 s before ``expires_in``. A channel may
  instead carry a ready ``access_token``.
- getOrders: ``GET /sell/fulfillment/v1/order?filter=lastmodifieddate:[FROM..TO]&limit=200
  &offset=N``; the answer has ``total``, ``offset``, ``limit``, ``next`` and ``orders``. The page
  token is the next offset.
- createShippingFulfillment: ``POST /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment``
  with ``lineItems`` (``lineItemId``, ``quantity``), ``shippedDate``, ``shippingCarrierCode``,
  ``trackingNumber``; eBay answers 201 with a ``Location``.

Credentials: ``client_id``, ``client_secret``, ``refresh_token`` (or ``access_token``).

Status mapping (first match wins):

=========================================  ========
``cancelStatus.cancelState == CANCELED``   canceled
``orderPaymentStatus`` PENDING or FAILED   pending
``orderFulfillmentStatus == FULFILLED``    shipped
otherwise (NOT_STARTED, IN_PROGRESS)       open
=========================================  ========

Amounts: ``lineItemCost`` is the line's price for the whole quantity; line tax is the sum of
``taxes[].amount``, line discount the sum of ``appliedPromotions[].discountAmount``, shipping
the sum of the lines' ``deliveryCost.shippingCost``.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from typing import Any

from django.core.cache import cache

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
from commerce.marketplaces.http import HttpClient, MalformedResponse, MarketplaceError
from commerce.marketplaces.util import (
    BadOrder,
    decimal_of,
    iso_utc,
    mapping,
    object_list,
    parse_time,
    text,
)

DEFAULT_AUTH_ENDPOINT = "https://api.ebay.com/identity/v1/oauth2/token"
SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
ZERO = Decimal("0")
UNIT = Decimal("0.0001")
BASE = "/sell/fulfillment/v1"


def _amount(value: Any, *, what: str) -> Decimal:
    if value is None:
        return ZERO
    if not isinstance(value, dict):
        raise BadOrder(f"{what} is not an Amount object.")
    return decimal_of(value.get("value"), what=f"{what}.value", default=ZERO)


class EbayConnector(Connector):
    page_size = 200

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.http = HttpClient(channel.endpoint)
        self.auth_url = channel.auth_endpoint or DEFAULT_AUTH_ENDPOINT

    def close(self) -> None:
        self.http.close()

    def access_token(self) -> str:
        if self.credentials.get("access_token") and not self.credentials.get("refresh_token"):
            return str(self.credentials["access_token"])
        client_id, secret = self.credential("client_id"), self.credential("client_secret")
        refresh = self.credential("refresh_token")
        key = "commerce:ebay:{}:{}".format(
            self.channel.pk, hashlib.sha256(f"{client_id}\0{refresh}".encode()).hexdigest()[:24]
        )
        token = cache.get(key)
        if token:
            return str(token)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        auth = HttpClient(self.auth_url)
        try:
            answer = auth.request(
                "POST",
                "",
                headers={"Authorization": f"Basic {basic}"},
                form={"grant_type": "refresh_token", "refresh_token": refresh, "scope": SCOPE},
            )
        finally:
            auth.close()
        body = mapping(answer.json(), what="eBay token response")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("eBay token response has no access_token.")
        try:
            expires_in = int(body.get("expires_in", 7200))
        except (TypeError, ValueError):
            expires_in = 7200
        cache.set(key, token, timeout=max(1, expires_in - 60))
        return token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def fetch_page(self, window: Window, token: str | None) -> Page:
        try:
            offset = int(token) if token else 0
        except ValueError:
            raise MarketplaceError(f"Bad saved page token {token!r}.") from None
        params = {
            "filter": f"lastmodifieddate:[{iso_utc(window.start)}..{iso_utc(window.end)}]",
            "limit": self.page_size,
            "offset": offset,
        }
        answer = self.http.request("GET", f"{BASE}/order", params=params, headers=self._headers())
        body = mapping(answer.json(), what="getOrders response")
        raw_orders = object_list(body, "orders", what="getOrders")
        total = body.get("total")
        page = Page(
            orders=[],
            next_token=str(offset + len(raw_orders)) if body.get("next") and raw_orders else None,
            total=total if isinstance(total, int) else None,
        )
        for raw in raw_orders:
            raw = mapping(raw, what="order")
            order_id = text(raw.get("orderId"), 128)
            try:
                page.orders.append(self._order(raw, order_id))
            except BadOrder as exc:
                page.rejected.append((order_id or "?", str(exc)))
        return page

    def _order(self, raw: Any, order_id: str) -> MarketOrder:
        if not order_id:
            raise BadOrder("orderId is missing.")
        cancel = (raw.get("cancelStatus") or {}).get("cancelState", "")
        payment = text(raw.get("orderPaymentStatus"), 40)
        fulfilment = text(raw.get("orderFulfillmentStatus"), 40)
        if cancel == "CANCELED":
            state, status = MarketState.CANCELED, "CANCELED"
        elif payment in ("PENDING", "FAILED"):
            state, status = MarketState.PENDING, payment
        elif fulfilment == "FULFILLED":
            state, status = MarketState.SHIPPED, fulfilment
        else:
            state, status = MarketState.OPEN, fulfilment or "NOT_STARTED"
        summary = raw.get("pricingSummary") or {}
        currency = text((summary.get("total") or {}).get("currency"), 3)
        lines: list[MarketLine] = []
        shipping = ZERO
        for item in object_list(raw, "lineItems", what="order"):
            if not isinstance(item, dict):
                raise BadOrder("lineItems entry is not an object.")
            quantity = decimal_of(item.get("quantity"), what="lineItems.quantity")
            cost = _amount(item.get("lineItemCost"), what="lineItemCost")
            currency = currency or text((item.get("lineItemCost") or {}).get("currency"), 3)
            tax = sum(
                (_amount(t.get("amount"), what="taxes.amount") for t in item.get("taxes") or []),
                ZERO,
            )
            discount = sum(
                (
                    _amount(p.get("discountAmount"), what="appliedPromotions.discountAmount")
                    for p in item.get("appliedPromotions") or []
                ),
                ZERO,
            )
            shipping += _amount(
                (item.get("deliveryCost") or {}).get("shippingCost"), what="shippingCost"
            )
            lines.append(
                MarketLine(
                    external_line_id=text(item.get("lineItemId"), 128),
                    sku=text(item.get("sku"), 64),
                    quantity=quantity,
                    unit_price=(cost / quantity).quantize(UNIT) if quantity else cost,
                    tax=tax,
                    discount=discount,
                )
            )
        steps = raw.get("fulfillmentStartInstructions") or [{}]
        ship_to = ((steps[0] or {}).get("shippingStep") or {}).get("shipTo") or {}
        address = ship_to.get("contactAddress") or {}
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=parse_time(raw.get("lastModifiedDate"), what="lastModifiedDate"),
            placed_at=parse_time(raw.get("creationDate"), what="creationDate"),
            currency=currency,
            lines=tuple(lines),
            shipping_total=shipping,
            customer_name=text(ship_to.get("fullName"), 200),
            customer_email=text(ship_to.get("email"), 254),
            ship_name=text(ship_to.get("fullName"), 200),
            ship_line1=text(address.get("addressLine1"), 200),
            ship_line2=text(address.get("addressLine2"), 200),
            ship_city=text(address.get("city"), 100),
            ship_region=text(address.get("stateOrProvince"), 100),
            ship_postal_code=text(address.get("postalCode"), 20),
            ship_country=text(address.get("countryCode"), 2).upper(),
        )

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        body = {
            "lineItems": [
                {"lineItemId": line.external_line_id, "quantity": int(line.quantity)}
                for line in confirmation.lines
            ],
            "shippedDate": iso_utc(confirmation.shipped_at),
            "shippingCarrierCode": confirmation.carrier or "Other",
            "trackingNumber": confirmation.tracking_number,
        }
        self.http.request(
            "POST",
            f"{BASE}/order/{confirmation.external_id}/shipping_fulfillment",
            headers=self._headers(),
            json_body=body,
        )


connector_register("ebay", EbayConnector)
