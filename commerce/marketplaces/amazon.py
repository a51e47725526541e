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
- ``GET /orders/v0/orders/{AmazonOrderId}/orderItems`` (``NextToken`` paging as well) for each
  order: ``ItemPrice``, ``ItemTax``, ``PromotionDiscount`` and ``ShippingPrice`` are amounts for
  the whole quantity; the unit price is ``ItemPrice / QuantityOrdered``.
- confirmShipment: ``POST /orders/v0/orders/{AmazonOrderId}/shipmentConfirmation`` with
  ``marketplaceId`` and a ``packageDetail`` (carrier code, tracking number, ship date, order
  items and quantities); Amazon answers 204.

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
)
from commerce.marketplaces.http import (
    HttpClient,
    MalformedResponse,
    MarketplaceError,
    Transient,
)
from commerce.marketplaces.util import (
    BadOrder,
    decimal_of,
    iso_utc,
    mapping,
    object_list,
    parse_time,
    text,
)

DEFAULT_AUTH_ENDPOINT = "https://api.amazon.com/auth/o2/token"
ZERO = Decimal("0")
UNIT = Decimal("0.0001")

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


def _money(value: Any, *, what: str) -> Decimal:
    if value is None:
        return ZERO
    if not isinstance(value, dict):
        raise BadOrder(f"{what} is not a Money object.")
    return decimal_of(value.get("Amount"), what=f"{what}.Amount", default=ZERO)


class AmazonConnector(Connector):
    credential_keys = ("client_id", "client_secret", "refresh_token")
    settle_seconds = 120
    page_size = 100

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.http = HttpClient(channel.endpoint)
        self.auth_url = channel.auth_endpoint or DEFAULT_AUTH_ENDPOINT
        if not channel.marketplace_id:
            raise MarketplaceError(f"Channel {channel.code}: marketplace_id is not set.")

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
        body = mapping(answer.json(), what="LWA token response")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse("LWA token response has no access_token.")
        try:
            expires_in = int(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600
        cache.set(key, token, timeout=max(1, expires_in - 60))
        return token

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self.http.request(
                "GET", path, params=params, headers={"x-amz-access-token": self.access_token()}
            )
        except MarketplaceError as exc:
            if exc.status == 403:  # an access token revoked early: the next attempt logs in
                cache.delete(self._cache_key())
                raise Transient(str(exc)) from None
            raise
        body = mapping(answer.json(), what="SP-API response")
        payload = mapping(body.get("payload", {}), what="payload")
        return dict(payload)

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
        raw_orders = object_list(payload, "Orders", what="payload")
        page = Page(orders=[], next_token=payload.get("NextToken") or None)
        for raw in raw_orders:
            raw = mapping(raw, what="Order")
            order_id = text(raw.get("AmazonOrderId"), 128)
            try:
                page.orders.append(self._order(raw, order_id))
            except BadOrder as exc:
                page.rejected.append((order_id or "?", str(exc)))
        return page

    def _items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else {}
            payload = self._get(f"/orders/v0/orders/{order_id}/orderItems", params)
            items.extend(
                dict(mapping(i, what="OrderItem"))
                for i in object_list(payload, "OrderItems", what="payload")
            )
            token = payload.get("NextToken") or None
            if not token:
                return items

    def _order(self, raw: Any, order_id: str) -> MarketOrder:
        if not order_id:
            raise BadOrder("AmazonOrderId is missing.")
        status = text(raw.get("OrderStatus"), 40)
        state = STATUS_MAP.get(status)
        if state is None:
            raise BadOrder(f"Unknown OrderStatus {status!r}.")
        total = raw.get("OrderTotal") or {}
        currency = text(total.get("CurrencyCode") if isinstance(total, dict) else "", 3)
        updated = parse_time(raw.get("LastUpdateDate"), what="LastUpdateDate")
        placed = parse_time(raw.get("PurchaseDate"), what="PurchaseDate")
        address = raw.get("ShippingAddress") or {}
        buyer = raw.get("BuyerInfo") or {}
        lines: list[MarketLine] = []
        shipping = ZERO
        if state in (MarketState.OPEN, MarketState.CANCELED):
            for item in self._items(order_id):
                quantity = decimal_of(item.get("QuantityOrdered"), what="QuantityOrdered")
                price = _money(item.get("ItemPrice"), what="ItemPrice")
                currency = currency or text((item.get("ItemPrice") or {}).get("CurrencyCode"), 3)
                lines.append(
                    MarketLine(
                        external_line_id=text(item.get("OrderItemId"), 128),
                        sku=text(item.get("SellerSKU"), 64),
                        quantity=quantity,
                        unit_price=(price / quantity).quantize(UNIT) if quantity else price,
                        tax=_money(item.get("ItemTax"), what="ItemTax"),
                        discount=_money(item.get("PromotionDiscount"), what="PromotionDiscount"),
                    )
                )
                shipping += _money(item.get("ShippingPrice"), what="ShippingPrice")
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=updated,
            placed_at=placed,
            currency=currency,
            lines=tuple(lines),
            shipping_total=shipping,
            customer_name=text(buyer.get("BuyerName"), 200),
            customer_email=text(buyer.get("BuyerEmail"), 254),
            ship_name=text(address.get("Name"), 200),
            ship_line1=text(address.get("AddressLine1"), 200),
            ship_line2=text(address.get("AddressLine2"), 200),
            ship_city=text(address.get("City"), 100),
            ship_region=text(address.get("StateOrRegion"), 100),
            ship_postal_code=text(address.get("PostalCode"), 20),
            ship_country=text(address.get("CountryCode"), 2).upper(),
        )

    # --- shipment confirmation ---------------------------------------------------------------

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        body = {
            "marketplaceId": confirmation.marketplace_id or self.channel.marketplace_id,
            "packageDetail": {
                "packageReferenceId": "1",
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
