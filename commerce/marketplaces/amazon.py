"""Amazon Selling Partner API, Orders v0.

- Login with Amazon (LWA): ``POST {auth_endpoint}`` (default
  ``https://api.amazon.com/auth/o2/token``) with the form ``grant_type=refresh_token``,
  ``refresh_token``, ``client_id``, ``client_secret``; the answer's ``access_token`` is sent as
  ``x-amz-access-token`` and cached (Django cache, shared by workers) until 60 s before its
  ``expires_in``.
- ``GET /orders/v0/orders?MarketplaceIds=..&LastUpdatedAfter=..&LastUpdatedBefore=..``
  ``&MaxResultsPerPage=100`` then ``&NextToken=..`` until the payload has no ``NextToken``.
  Amazon refuses a ``LastUpdatedBefore`` later than two minutes before the request, hence
  :attr:`AmazonConnector.settle_seconds`.
  ``NextToken`` is a server-side cursor: an order changing while the run pages does not shift
  the later pages (it leaves the window, its change is read by the next run).
- ``GET /orders/v0/orders/{AmazonOrderId}/orderItems`` (``NextToken`` paging as well) for each
  open or canceled order: ``ItemPrice``, ``ItemTax``, ``PromotionDiscount`` and
  ``ShippingPrice`` are amounts for the whole quantity; the unit price is
  ``ItemPrice / QuantityOrdered``.
- Rate limits: getOrderItems is documented at 0.5 requests/s with a burst of 30, far below a
  page of 100 orders. The connector paces these calls itself (a token bucket of the documented
  burst, refilled at the rate Amazon states in ``x-amzn-RateLimit-Limit`` on each answer), and
  keeps the items it already has, keyed by order id and ``LastUpdateDate``, while a page is
  retried after a 429: a retry fetches only the missing ones. They are dropped once the page is
  returned (at most one page's items are held).
- confirmShipment: ``POST /orders/v0/orders/{AmazonOrderId}/shipmentConfirmation`` with
  ``marketplaceId`` and a ``packageDetail`` (``packageReferenceId``, carrier code, tracking
  number, ship date, order items and quantities); Amazon answers 204. ``packageReferenceId``
  identifies the package within the order (a positive number): the fulfilment's id, so two
  packages of one order are two packages at Amazon, and a confirmation sent again for the same
  package edits it instead of adding one.

Credentials (``channel.credentials``): ``client_id``, ``client_secret``, ``refresh_token``.

Status mapping (``OrderStatus``):

===================  ===========  =======================================================
Pending              pending      not yet paid/confirmed: not imported until it changes
PendingAvailability  pending      pre-order, payment not yet authorised
Unshipped            open         to ship
PartiallyShipped     open         part shipped, rest to ship
Shipped              shipped      shipped (here or by Amazon)
InvoiceUnconfirmed   shipped      shipped, invoice confirmation pending at Amazon
Canceled             canceled     cancel here (stock released)
Unfulfillable        canceled     Amazon cannot fulfil it (multi-channel fulfilment)
===================  ===========  =======================================================
"""

from __future__ import annotations

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
)
from commerce.marketplaces.http import (
    HttpClient,
    MalformedResponse,
    MarketplaceError,
    Transient,
)
from commerce.marketplaces.util import BadOrder, Json, Pacer, iso_utc

DEFAULT_AUTH_ENDPOINT = "https://api.amazon.com/auth/o2/token"
ZERO = Decimal("0")
UNIT = Decimal("0.0001")
TOKEN_LIMIT = 65536  # a NextToken is opaque: never cut
ITEMS_RATE = 0.5  # getOrderItems: documented requests/second ...
ITEMS_BURST = 30  # ... and burst

STATUS_MAP: dict[str, MarketState] = {
    "Pending": MarketState.PENDING,
    "PendingAvailability": MarketState.PENDING,
    "Unshipped": MarketState.OPEN,
    "PartiallyShipped": MarketState.OPEN,
    "Shipped": MarketState.SHIPPED,
    "InvoiceUnconfirmed": MarketState.SHIPPED,
    "Canceled": MarketState.CANCELED,
    "Unfulfillable": MarketState.CANCELED,
}


def _money(parent: Json, key: str) -> Decimal:
    return parent.obj(key).decimal("Amount", default=ZERO)


class AmazonConnector(Connector):
    credential_keys = ("client_id", "client_secret", "refresh_token")
    settle_seconds = 120
    page_size = 100
    items_burst = ITEMS_BURST

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.http = HttpClient(channel.endpoint)
        self.auth_url = channel.auth_endpoint or DEFAULT_AUTH_ENDPOINT
        if not channel.marketplace_id:
            raise MarketplaceError(f"Channel {channel.code}: marketplace_id is not set.")
        self.items_pacer = Pacer(rate=ITEMS_RATE, burst=self.items_burst)
        # items fetched for the page being read, by (order id, LastUpdateDate)
        self.items_held: dict[tuple[str, str], list[Json]] = {}

    def close(self) -> None:
        self.http.close()

    # --- Login with Amazon -------------------------------------------------------------------

    def _cache_key(self) -> str:
        fingerprint = hashlib.sha256(
            f"{self.credential('client_id')}\0{self.credential('refresh_token')}".encode()
        ).hexdigest()[:24]
        return f"commerce:lwa:{self.channel.pk}:{fingerprint}"

    def access_token(self) -> str:
        key = self._cache_key()
        token = cache.get(key)
        if token:
            return str(token)
        auth = HttpClient(self.auth_url)
        try:
            answer = auth.request(
                "POST",
                "",
                form={
                    "grant_type": "refresh_token",
                    "refresh_token": self.credential("refresh_token"),
                    "client_id": self.credential("client_id"),
                    "client_secret": self.credential("client_secret"),
                },
            )
        finally:
            auth.close()
        body = Json.answer(answer.json(), "LWA token response")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("LWA token response has no access_token.")
        try:
            expires_in = int(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600
        cache.set(key, token, timeout=max(1, expires_in - 60))
        return token

    def _get(self, path: str, params: dict[str, Any], *, pacer: Pacer | None = None) -> Json:
        if pacer is not None:
            wait = pacer.wait()
            if wait > 0:
                self.sleep(wait)
        try:
            answer = self.http.request(
                "GET", path, params=params, headers={"x-amz-access-token": self.access_token()}
            )
        except MarketplaceError as exc:
            if exc.status == 403:  # an access token revoked early: the next attempt logs in
                cache.delete(self._cache_key())
                raise Transient(str(exc)) from None
            raise
        if pacer is not None:
            pacer.update(answer.header("x-amzn-RateLimit-Limit"))
        return Json.answer(answer.json(), "SP-API response").obj("payload")

    # --- orders ------------------------------------------------------------------------------

    def fetch_page(self, window: Window, token: str | None) -> Page:
        params: dict[str, Any] = {"MarketplaceIds": self.channel.marketplace_id}
        if token:
            params["NextToken"] = token
        else:
            params.update(
                LastUpdatedAfter=iso_utc(window.start),
                LastUpdatedBefore=iso_utc(window.end),
                MaxResultsPerPage=self.page_size,
            )
        payload = self._get("/orders/v0/orders", params)
        next_token = payload.text("NextToken", TOKEN_LIMIT) or None
        orders = payload.array("Orders")
        page = page_of(orders, id_key="AmazonOrderId", parse=self._order, next_token=next_token)
        self.items_held.clear()  # the page is complete: its items are no longer needed
        return page

    def _items(self, order_id: str, updated: str) -> list[Json]:
        """The order's items (those held from an earlier attempt of this page if the order has
        not changed since)."""
        key = (order_id, updated)
        held = self.items_held.get(key)
        if held is not None:
            return held
        items: list[Json] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else {}
            payload = self._get(
                f"/orders/v0/orders/{order_id}/orderItems", params, pacer=self.items_pacer
            )
            items.extend(Json.order(payload.value).objs("OrderItems"))
            token = payload.text("NextToken", TOKEN_LIMIT) or None
            if not token:
                self.items_held[key] = items
                return items

    def _order(self, raw: Json, order_id: str) -> MarketOrder:
        status = raw.text("OrderStatus", 40)
        state = STATUS_MAP.get(status)
        if state is None:
            raise BadOrder(f"Unknown OrderStatus {status!r}.", field="OrderStatus")
        currency = raw.obj("OrderTotal").text("CurrencyCode", 3)
        updated = raw.time("LastUpdateDate")
        placed = raw.time("PurchaseDate")
        address = raw.obj("ShippingAddress")
        buyer = raw.obj("BuyerInfo")
        lines: list[MarketLine] = []
        shipping = ZERO
        if state in (MarketState.OPEN, MarketState.CANCELED):
            for item in self._items(order_id, raw.text("LastUpdateDate", 64)):
                quantity = item.decimal("QuantityOrdered")
                price = _money(item, "ItemPrice")
                currency = currency or item.obj("ItemPrice").text("CurrencyCode", 3)
                lines.append(
                    MarketLine(
                        external_line_id=item.text("OrderItemId", 128),
                        sku=item.text("SellerSKU", 64),
                        quantity=quantity,
                        unit_price=(price / quantity).quantize(UNIT) if quantity else price,
                        tax=_money(item, "ItemTax"),
                        discount=_money(item, "PromotionDiscount"),
                    )
                )
                shipping += _money(item, "ShippingPrice")
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=updated,
            placed_at=placed,
            currency=currency,
            lines=tuple(lines),
            shipping_total=shipping,
            customer_name=buyer.text("BuyerName", 200),
            customer_email=buyer.text("BuyerEmail", 254),
            ship_name=address.text("Name", 200),
            ship_line1=address.text("AddressLine1", 200),
            ship_line2=address.text("AddressLine2", 200),
            ship_city=address.text("City", 100),
            ship_region=address.text("StateOrRegion", 100),
            ship_postal_code=address.text("PostalCode", 20),
            ship_country=address.text("CountryCode", 2).upper(),
        )

    # --- shipment confirmation ---------------------------------------------------------------

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        body = {
            "marketplaceId": confirmation.marketplace_id or self.channel.marketplace_id,
            "packageDetail": {
                "packageReferenceId": confirmation.package_id,
                "carrierCode": confirmation.carrier or "Other",
                "trackingNumber": confirmation.tracking_number,
                "shipDate": iso_utc(confirmation.shipped_at),
                "orderItems": [
                    {"orderItemId": line.external_line_id, "quantity": int(line.quantity)}
                    for line in confirmation.lines
                ],
            },
        }
        self.http.request(
            "POST",
            f"/orders/v0/orders/{confirmation.external_id}/shipmentConfirmation",
            headers={"x-amz-access-token": self.access_token()},
            json_body=body,
        )


connector_register("amazon", AmazonConnector)
