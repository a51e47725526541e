"""eBay Sell Fulfillment API (``/sell/fulfillment/v1``).

- OAuth: a user access token, refreshed at ``auth_endpoint`` (default
  ``https://api.ebay.com/identity/v1/oauth2/token``) with ``grant_type=refresh_token`` and HTTP
  Basic ``client_id:client_secret``, cached until 60 s before ``expires_in``. A channel may
  instead carry a ready ``access_token``.
- getOrders: ``GET /sell/fulfillment/v1/order?filter=lastmodifieddate:[FROM..TO]&limit=200
  &offset=N``; the answer has ``total``, ``offset``, ``limit``, ``next`` and ``orders``. The page
  token is ``"<next offset>:<total>"``: the offset to read and the window's ``total`` the page
  before it reported (a plain ``"<offset>"`` is read with the total unknown).
- Orders changing mid-run: eBay pages by offset over the modified-date window. A buyer's change
  stamps the order with the current time, after the window's end, so it leaves the window and
  every order after it moves one place forward: the next page would skip one. Orders never
  enter the window (its end is in the past), so when a page's ``total`` is ``d`` lower than the
  previous page's, the next page is read from ``offset - d`` (see ``base.shifted_back``); the
  orders read twice are skipped by the upsert, and the order that left is read by the next run.
  The total travels in the saved page token, so a resumed run still compares with it.
- createShippingFulfillment: ``POST /sell/fulfillment/v1/order/{orderId}/shipping_fulfillment``
  with ``lineItems`` (``lineItemId``, ``quantity``), ``shippedDate``, ``shippingCarrierCode``,
  ``trackingNumber``; eBay answers 201 with a ``Location``. eBay does not deduplicate these, so
  a confirmation sent again (the worker died after the call, before our commit) would create a
  second fulfillment: the connector first reads the order's fulfillments (getShippingFulfillments,
  ``GET .../order/{orderId}/shipping_fulfillment``: ``fulfillments[].shipmentTrackingNumber``)
  and does not post one whose tracking number is already there. A package without a tracking
  number cannot be recognised and is always posted.

Credentials: ``client_id``, ``client_secret``, ``refresh_token`` (or ``access_token``).

Status mapping (first match wins):

=========================================  ========
``cancelStatus.cancelState == CANCELED``   canceled
``orderPaymentStatus == FULLY_REFUNDED``   canceled
``orderPaymentStatus`` PENDING or FAILED   pending
``orderFulfillmentStatus == FULFILLED``    shipped
otherwise (NOT_STARTED, IN_PROGRESS)       open
=========================================  ========

A fully refunded order has nothing left to ship and must not be imported as a new open order:
it maps to canceled (never imported if first seen so; an imported order not yet shipped is
canceled here and its stock released; one already shipped gets a note for staff, the return
follows). A partially refunded one (PARTIALLY_REFUNDED) still has goods to ship: open.

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
    page_of,
    shifted_back,
)
from commerce.marketplaces.http import HttpClient, MalformedResponse, MarketplaceError
from commerce.marketplaces.util import Json, count_of, iso_utc

DEFAULT_AUTH_ENDPOINT = "https://api.ebay.com/identity/v1/oauth2/token"
SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
ZERO = Decimal("0")
UNIT = Decimal("0.0001")
BASE = "/sell/fulfillment/v1"


def _amount(parent: Json, key: str) -> Decimal:
    return parent.obj(key).decimal("value", default=ZERO)


def _state(raw: Json) -> tuple[MarketState, str]:
    """The order's state and the marketplace status recorded (see the table above)."""
    payment = raw.text("orderPaymentStatus", 40)
    fulfilment = raw.text("orderFulfillmentStatus", 40)
    if raw.obj("cancelStatus").text("cancelState", 40) == "CANCELED":
        return MarketState.CANCELED, "CANCELED"
    if payment == "FULLY_REFUNDED":
        return MarketState.CANCELED, payment
    if payment in ("PENDING", "FAILED"):
        return MarketState.PENDING, payment
    if fulfilment == "FULFILLED":
        return MarketState.SHIPPED, fulfilment
    return MarketState.OPEN, fulfilment or "NOT_STARTED"


def _token(token: str | None) -> tuple[int, int | None]:
    """``"<offset>:<total>"`` (or a plain offset) -> (offset, total of the page before)."""
    if not token:
        return 0, None
    offset, _, total = token.partition(":")
    try:
        return max(0, int(offset)), int(total) if total else None
    except ValueError:
        raise MarketplaceError(f"Bad saved page token {token!r}.") from None


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
        body = Json.answer(answer.json(), "eBay token response")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("eBay token response has no access_token.")
        try:
            expires_in = int(body.get("expires_in") or 7200)
        except (TypeError, ValueError):
            expires_in = 7200
        cache.set(key, token, timeout=max(1, expires_in - 60))
        return token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def fetch_page(self, window: Window, token: str | None) -> Page:
        offset, previous_total = _token(token)
        params = {
            "filter": f"lastmodifieddate:[{iso_utc(window.start)}..{iso_utc(window.end)}]",
            "limit": self.page_size,
            "offset": offset,
        }
        answer = self.http.request("GET", f"{BASE}/order", params=params, headers=self._headers())
        body = Json.answer(answer.json(), "getOrders response")
        raw_orders = body.array("orders")
        total = count_of(body.get("total"))
        following = shifted_back(offset, previous_total, total)
        if following is None and body.get("next") and raw_orders:
            following = offset + len(raw_orders)
        next_token = None
        if following is not None:
            next_token = f"{following}:{'' if total is None else total}"
        return page_of(
            raw_orders, id_key="orderId", parse=self._order, next_token=next_token, total=total
        )

    def _order(self, raw: Json, order_id: str) -> MarketOrder:
        state, status = _state(raw)
        currency = raw.obj("pricingSummary").obj("total").text("currency", 3)
        lines: list[MarketLine] = []
        shipping = ZERO
        for item in raw.objs("lineItems"):
            quantity = item.decimal("quantity")
            cost = _amount(item, "lineItemCost")
            currency = currency or item.obj("lineItemCost").text("currency", 3)
            tax = sum((_amount(t, "amount") for t in item.objs("taxes")), ZERO)
            discount = sum(
                (_amount(p, "discountAmount") for p in item.objs("appliedPromotions")), ZERO
            )
            shipping += _amount(item.obj("deliveryCost"), "shippingCost")
            lines.append(
                MarketLine(
                    external_line_id=item.text("lineItemId", 128),
                    sku=item.text("sku", 64),
                    quantity=quantity,
                    unit_price=(cost / quantity).quantize(UNIT) if quantity else cost,
                    tax=tax,
                    discount=discount,
                )
            )
        ship_to = raw.first("fulfillmentStartInstructions").obj("shippingStep").obj("shipTo")
        address = ship_to.obj("contactAddress")
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=raw.time("lastModifiedDate"),
            placed_at=raw.time("creationDate"),
            currency=currency,
            lines=tuple(lines),
            shipping_total=shipping,
            customer_name=ship_to.text("fullName", 200),
            customer_email=ship_to.text("email", 254),
            ship_name=ship_to.text("fullName", 200),
            ship_line1=address.text("addressLine1", 200),
            ship_line2=address.text("addressLine2", 200),
            ship_city=address.text("city", 100),
            ship_region=address.text("stateOrProvince", 100),
            ship_postal_code=address.text("postalCode", 20),
            ship_country=address.text("countryCode", 2).upper(),
        )

    def _tracking_numbers(self, order_id: str) -> set[str]:
        """Tracking numbers of the order's existing shipping fulfillments at eBay."""
        answer = self.http.request(
            "GET", f"{BASE}/order/{order_id}/shipping_fulfillment", headers=self._headers()
        )
        body = Json.answer(answer.json(), "getShippingFulfillments response")
        return {f.text("shipmentTrackingNumber", 128) for f in body.objs("fulfillments")}

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        tracking = confirmation.tracking_number
        if tracking and tracking in self._tracking_numbers(confirmation.external_id):
            return  # sent before (our commit was lost): eBay already has this package
        body = {
            "lineItems": [
                {"lineItemId": line.external_line_id, "quantity": int(line.quantity)}
                for line in confirmation.lines
            ],
            "shippedDate": iso_utc(confirmation.shipped_at),
            "shippingCarrierCode": confirmation.carrier or "Other",
            "trackingNumber": tracking,
        }
        self.http.request(
            "POST",
            f"{BASE}/order/{confirmation.external_id}/shipping_fulfillment",
            headers=self._headers(),
            json_body=body,
        )


connector_register("ebay", EbayConnector)
