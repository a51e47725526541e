"""Fake Amazon SP-API Orders v0 + Login with Amazon (see ``servers``).

getOrderItems can be rate-limited as Amazon documents it (:meth:`FakeAmazon.limit_items`: a
token bucket of ``burst`` calls refilled at ``rate`` per second on the fake's clock; an empty
bucket answers 429 with ``Retry-After`` and ``x-amzn-RateLimit-Limit``). confirmShipment checks
the body and keeps one package per ``packageReferenceId`` (a second confirmation with the same id
edits that package, as Amazon does), refusing more units than were ordered.
"""

from __future__ import annotations

import base64
import json
import math
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


class FakeAmazon(FakeMarketplace):
    kind = "amazon"
    list_path = "/orders/v0/orders"
    CLIENT_ID = "amzn1.application-oa2-client.test"
    CLIENT_SECRET = "amzn-client-secret-value"
    REFRESH_TOKEN = "Atzr|refresh-token-value"
    STATUS = {
        "open": "Unshipped",
        "pending": "Pending",
        "canceled": "Canceled",
        "shipped": "Shipped",
    }

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[str] = []
        # getOrderItems rate limit (a token bucket on ``self.clock``): None = unlimited
        self.items_burst: int | None = None
        self.items_rate = 0.5
        self._tokens = 0.0
        self._stamp = 0.0
        self.items_served: list[str] = []  # order ids of getOrderItems answered 200
        self.items_throttled = 0  # getOrderItems answered 429
        # confirmed packages: order id -> packageReferenceId -> packageDetail
        self.packages: dict[str, dict[str, dict[str, Any]]] = {}

    def add(self, external_id: str, **kw: Any) -> None:
        updated, created = kw["updated"], kw.get("created") or kw["updated"]
        items = [
            {
                "ASIN": f"B0{index:08d}",
                "SellerSKU": sku,
                "OrderItemId": f"{external_id}-{index}",
                "QuantityOrdered": qty,
                "ItemPrice": {
                    "CurrencyCode": kw.get("currency", "USD"),
                    "Amount": str(Decimal(price) * qty),
                },
                "ItemTax": {"CurrencyCode": kw.get("currency", "USD"), "Amount": "0.00"},
            }
            for index, (sku, qty, price) in enumerate(kw["lines"], start=1)
        ]
        total = sum(Decimal(i["ItemPrice"]["Amount"]) for i in items)
        self.orders[external_id] = {
            "AmazonOrderId": external_id,
            "PurchaseDate": iso(created),
            "LastUpdateDate": iso(updated),
            "OrderStatus": self.STATUS[kw.get("state", "open")],
            "FulfillmentChannel": "MFN",
            "OrderTotal": {"CurrencyCode": kw.get("currency", "USD"), "Amount": str(total)},
            "MarketplaceId": "ATVPDKIKX0DER",
            "ShippingAddress": {
                "Name": "Jane Doe",
                "AddressLine1": "1 Main St",
                "City": kw.get("city", "Berlin"),
                "PostalCode": "10115",
                "CountryCode": kw.get("country", "DE"),
            },
            "BuyerInfo": {"BuyerEmail": "jane@marketplace.example"},
            "_items": items,
        }

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        self.orders[external_id]["OrderStatus"] = self.STATUS[state]
        self.orders[external_id]["LastUpdateDate"] = iso(updated)

    def is_list(self, request: Recorded) -> bool:
        return request.method == "GET"

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/auth/o2/token":
            return self._token(request)
        if request.headers.get("x-amz-access-token") not in self.issued:
            return as_json(403, {"errors": [{"code": "Unauthorized", "message": "Access denied"}]})
        if request.path == "/orders/v0/orders":
            return self._orders(request)
        parts = request.path.split("/")
        if request.path.endswith("/orderItems"):
            return self._items(parts[-2])
        if request.path.endswith("/shipmentConfirmation") and request.method == "POST":
            return self._confirm(parts[-2], request)
        return as_json(404, {"errors": [{"code": "NotFound"}]})

    # --- getOrderItems, rate-limited as documented (rate + burst, 429 when the bucket is empty)

    def limit_items(self, *, burst: int, rate: float) -> None:
        self.items_burst, self.items_rate = burst, rate
        self._tokens, self._stamp = float(burst), self.clock()

    def _take(self) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        if self.items_burst is None:
            return 0.0
        now = self.clock()
        refill = max(0.0, now - self._stamp) * self.items_rate
        self._tokens = min(float(self.items_burst), self._tokens + refill)
        self._stamp = now
        if self._tokens >= 1 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1)
            return 0.0
        return (1 - self._tokens) / self.items_rate

    def _items(self, order_id: str) -> Answer:
        rate = {"x-amzn-RateLimit-Limit": str(self.items_rate)}
        wait = self._take()
        if wait:
            self.items_throttled += 1
            retry = {"Retry-After": str(max(1, math.ceil(wait))), **rate}
            return as_json(429, {"errors": [{"code": "QuotaExceeded"}]}, retry)
        order = self.orders.get(order_id)
        if order is None:
            return as_json(404, {"errors": [{"code": "NotFound"}]})
        self.items_served.append(order_id)
        payload = {"AmazonOrderId": order_id, "OrderItems": order["_items"]}
        return as_json(200, {"payload": payload}, rate)

    # --- confirmShipment: one package per packageReferenceId (the same id edits it) ----------

    def _confirm(self, order_id: str, request: Recorded) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return as_json(404, {"errors": [{"code": "NotFound"}]})
        body = json.loads(request.body)
        package = body.get("packageDetail") or {}
        reference = package.get("packageReferenceId")
        problem = self._package_problem(order, order_id, body, package)
        if problem:
            return as_json(400, {"errors": [{"code": "InvalidInput", "message": problem}]})
        self.confirmations.append(request)
        self.packages.setdefault(order_id, {})[str(reference)] = package
        return 204, {}, b""

    def _package_problem(
        self, order: dict[str, Any], order_id: str, body: dict[str, Any], package: dict[str, Any]
    ) -> str:
        reference = package.get("packageReferenceId")
        if body.get("marketplaceId") != "ATVPDKIKX0DER":
            return "marketplaceId"
        if not isinstance(reference, str) or not reference.isdigit() or int(reference) < 1:
            return "packageReferenceId must be a positive number"
        if not all(package.get(k) for k in ("carrierCode", "trackingNumber", "shipDate")):
            return "carrierCode, trackingNumber and shipDate are required"
        ordered = {i["OrderItemId"]: i["QuantityOrdered"] for i in order["_items"]}
        shipped = dict.fromkeys(ordered, 0)
        others = [p for r, p in self.packages.get(order_id, {}).items() if r != reference]
        for item in [i for p in [*others, package] for i in p.get("orderItems") or []]:
            quantity = item.get("quantity")
            if item.get("orderItemId") not in ordered or not isinstance(quantity, int):
                return f"orderItems: {item!r}"
            shipped[item["orderItemId"]] += quantity
        if not package.get("orderItems") or any(shipped[i] > ordered[i] for i in ordered):
            return "orderItems: more than ordered"
        return ""

    def _token(self, request: Recorded) -> Answer:
        form = request.query
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("client_id") != self.CLIENT_ID
            or form.get("client_secret") != self.CLIENT_SECRET
            or form.get("refresh_token") != self.REFRESH_TOKEN
        ):
            return as_json(400, {"error": "invalid_grant"})
        token = f"Atza|access-{len(self.issued) + 1}"
        self.issued.append(token)
        return as_json(
            200,
            {
                "access_token": token,
                "refresh_token": self.REFRESH_TOKEN,
                "token_type": "bearer",
                "expires_in": 3600,
            },
        )

    def _orders(self, request: Recorded) -> Answer:
        q = request.query
        if q.get("MarketplaceIds") != "ATVPDKIKX0DER":
            return as_json(400, {"errors": [{"code": "InvalidInput"}]})
        if "NextToken" in q:
            cursor = json.loads(base64.b64decode(q["NextToken"]))
        else:
            cursor = {
                "after": q["LastUpdatedAfter"],
                "before": q["LastUpdatedBefore"],
                "last": None,
                "size": int(q.get("MaxResultsPerPage", 100)),
            }
        after, before = parse_iso(cursor["after"]), parse_iso(cursor["before"])
        rows = sorted(
            (o for o in self.orders.values() if after <= parse_iso(o["LastUpdateDate"]) < before),
            key=lambda o: (o["LastUpdateDate"], o["AmazonOrderId"]),
        )
        if cursor["last"] is not None:
            last = tuple(cursor["last"])
            rows = [o for o in rows if (o["LastUpdateDate"], o["AmazonOrderId"]) > last]
        size = min(cursor["size"], self.page_size)
        chunk, rest = rows[:size], rows[size:]
        self.served.append([o["AmazonOrderId"] for o in chunk])
        payload: dict[str, Any] = {
            "Orders": [{k: v for k, v in o.items() if not k.startswith("_")} for o in chunk],
            "LastUpdatedBefore": cursor["before"],
        }
        if rest:
            cursor["last"] = [chunk[-1]["LastUpdateDate"], chunk[-1]["AmazonOrderId"]]
            payload["NextToken"] = base64.b64encode(json.dumps(cursor).encode()).decode()
        return as_json(200, {"payload": payload})
