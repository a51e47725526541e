"""Fake eBay Sell Fulfillment API (see ``servers``).

Shipping fulfillments are kept per order: getShippingFulfillments lists them (with
``shipmentTrackingNumber``), and createShippingFulfillment checks the body and creates one on
every call, as eBay does (it does not deduplicate), refusing more units than were ordered.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.commerce.marketplace.fakes import (
    Answer,
    FakeMarketplace,
    Recorded,
    as_json,
    iso,
    parse_iso,
)


class FakeEbay(FakeMarketplace):
    kind = "ebay"
    list_path = "/sell/fulfillment/v1/order"
    CLIENT_ID = "ebay-client-id"
    CLIENT_SECRET = "ebay-client-secret-value"
    REFRESH_TOKEN = "v^1.1#refresh-token-value"

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[str] = []
        self.fulfillments: dict[str, list[dict[str, Any]]] = {}  # order id -> fulfillments

    def _status(self, state: str) -> dict[str, Any]:
        return {
            "orderFulfillmentStatus": "FULFILLED" if state == "shipped" else "NOT_STARTED",
            "orderPaymentStatus": "PENDING" if state == "pending" else "PAID",
            "cancelStatus": {
                "cancelState": "CANCELED" if state == "canceled" else "NONE_REQUESTED"
            },
        }

    def add(self, external_id: str, **kw: Any) -> None:
        updated, created = kw["updated"], kw.get("created") or kw["updated"]
        currency = kw.get("currency", "USD")
        items = [
            {
                "lineItemId": f"{external_id}-{index}",
                "sku": sku,
                "quantity": qty,
                "lineItemCost": {"value": str(Decimal(price) * qty), "currency": currency},
                "deliveryCost": {"shippingCost": {"value": "0.0", "currency": currency}},
                "taxes": [],
                "appliedPromotions": [],
            }
            for index, (sku, qty, price) in enumerate(kw["lines"], start=1)
        ]
        total = sum(Decimal(i["lineItemCost"]["value"]) for i in items)
        self.orders[external_id] = {
            "orderId": external_id,
            "creationDate": iso(created),
            "lastModifiedDate": iso(updated),
            **self._status(kw.get("state", "open")),
            "pricingSummary": {"total": {"value": str(total), "currency": currency}},
            "buyer": {"username": "buyer1"},
            "fulfillmentStartInstructions": [
                {
                    "shippingStep": {
                        "shipTo": {
                            "fullName": "John Roe",
                            "contactAddress": {
                                "addressLine1": "2 High St",
                                "city": kw.get("city", "Berlin"),
                                "postalCode": "10117",
                                "countryCode": kw.get("country", "DE"),
                            },
                        }
                    }
                }
            ],
            "lineItems": items,
        }

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        self.orders[external_id].update(self._status(state))
        self.orders[external_id]["lastModifiedDate"] = iso(updated)

    def is_list(self, request: Recorded) -> bool:
        return request.method == "GET"

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/identity/v1/oauth2/token":
            basic = base64.b64encode(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}".encode()).decode()
            if (
                request.headers.get("authorization") != f"Basic {basic}"
                or request.query.get("grant_type") != "refresh_token"
                or request.query.get("refresh_token") != self.REFRESH_TOKEN
            ):
                return as_json(401, {"error": "invalid_client"})
            token = f"v^1.1#access-{len(self.issued) + 1}"
            self.issued.append(token)
            return as_json(200, {"access_token": token, "expires_in": 7200, "token_type": "User"})
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued:
            return as_json(401, {"errors": [{"errorId": 1001, "message": "Invalid access token"}]})
        if request.path == self.list_path and request.method == "GET":
            return self._orders(request)
        if request.path.endswith("/shipping_fulfillment"):
            order_id = request.path.split("/")[-2]
            if order_id not in self.orders:
                return as_json(404, {"errors": [{"errorId": 32100, "message": "Invalid order"}]})
            if request.method == "GET":
                existing = self.fulfillments.get(order_id, [])
                return as_json(200, {"fulfillments": existing, "total": len(existing)})
            return self._create_fulfillment(order_id, request)
        return as_json(404, {"errors": [{"errorId": 32100, "message": "Not found"}]})

    def _create_fulfillment(self, order_id: str, request: Recorded) -> Answer:
        """createShippingFulfillment: every call creates one (eBay does not deduplicate)."""
        body = json.loads(request.body)
        problem = self._fulfillment_problem(order_id, body)
        if problem:
            return as_json(400, {"errors": [{"errorId": 32200, "message": problem}]})
        self.confirmations.append(request)
        existing = self.fulfillments.setdefault(order_id, [])
        fulfillment_id = f"{order_id}-F{len(existing) + 1}"
        existing.append(
            {
                "fulfillmentId": fulfillment_id,
                "lineItems": body["lineItems"],
                "shipmentTrackingNumber": body.get("trackingNumber"),
                "shippingCarrierCode": body.get("shippingCarrierCode"),
                "shippedDate": body.get("shippedDate"),
            }
        )
        location = {"Location": f"{self.base}{request.path}/{fulfillment_id}"}
        return 201, location, b""

    def _fulfillment_problem(self, order_id: str, body: dict[str, Any]) -> str:
        ordered = {i["lineItemId"]: i["quantity"] for i in self.orders[order_id]["lineItems"]}
        shipped = dict.fromkeys(ordered, 0)
        earlier = [i for f in self.fulfillments.get(order_id, []) for i in f["lineItems"]]
        for item in [*earlier, *(body.get("lineItems") or [])]:
            quantity = item.get("quantity")
            if item.get("lineItemId") not in ordered or not isinstance(quantity, int):
                return f"lineItems: {item!r}"
            shipped[item["lineItemId"]] += quantity
        if not body.get("lineItems") or any(shipped[i] > ordered[i] for i in ordered):
            return "lineItems: more than ordered"
        if not body.get("shippedDate") or not body.get("shippingCarrierCode"):
            return "shippedDate and shippingCarrierCode are required"
        return ""

    def _orders(self, request: Recorded) -> Answer:
        q = request.query
        spec = q["filter"].removeprefix("lastmodifieddate:[").removesuffix("]")
        start, end = (parse_iso(v) for v in spec.split(".."))
        limit, offset = min(int(q.get("limit", 50)), self.page_size), int(q.get("offset", 0))
        rows = sorted(
            (o for o in self.orders.values() if start <= parse_iso(o["lastModifiedDate"]) <= end),
            key=lambda o: (o["creationDate"], o["orderId"]),
            reverse=True,
        )
        chunk = rows[offset : offset + limit]
        self.served.append([o["orderId"] for o in chunk])
        body: dict[str, Any] = {
            "href": f"{self.base}{self.list_path}?offset={offset}",
            "total": len(rows),
            "limit": limit,
            "offset": offset,
            "orders": chunk,
        }
        if offset + limit < len(rows):
            body["next"] = f"{self.base}{self.list_path}?limit={limit}&offset={offset + limit}"
        return as_json(200, body)
