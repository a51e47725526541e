"""Local marketplace servers for the connector tests, written from each marketplace's documented
request and response shapes (Amazon SP-API Orders v0 + LWA, eBay Sell Fulfillment, AliExpress
IOP ``/sync``, Shopify Admin REST).

Each fake runs ``http.server`` in a thread (HTTP/1.1 keep-alive), keeps its orders in memory in
the marketplace's own JSON shape, records every request, checks credentials the way the
marketplace does, and can be scripted to fail: ``fail(path_part, status, ...)`` makes the next
matching request answer that status (429 with ``Retry-After``, 500, or a 200 whose body is not
JSON). ``before_list(n, fn)`` runs ``fn`` just before the n-th order-list request is answered (an
order that changes between two pages).

Orders are added through one interface, :meth:`FakeMarketplace.add`, with the marketplace-neutral
``state`` (``open``, ``pending``, ``canceled``, ``shipped``) translated to the native status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Fault:
    path_part: str
    status: int
    body: bytes
    headers: dict[str, str]


Answer = tuple[int, dict[str, str], bytes]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        market: FakeMarketplace = self.server.market  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            query.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        request = Recorded(
            self.command,
            parts.path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        status, headers, payload = market.dispatch(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class FakeMarketplace:
    kind = ""
    list_path = ""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.hooks: dict[int, Callable[[], None]] = {}
        self.list_calls = 0
        self.confirmations: list[Recorded] = []
        self.served: list[list[str]] = []  # external ids of each list answer, in order
        self.page_size = 2
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.market = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeMarketplace:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ----------------------------------------------------------------------------

    def fail(
        self,
        path_part: str,
        status: int,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self.faults.append(Fault(path_part, status, body, headers or {}))

    def before_list(self, number: int, hook: Callable[[], None]) -> None:
        self.hooks[number] = hook

    def list_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(self.list_path)]

    def dispatch(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            if request.path.endswith(self.list_path) and self.is_list(request):
                self.list_calls += 1
                hook = self.hooks.pop(self.list_calls, None)
                if hook is not None:
                    hook()
            for fault in self.faults:
                if fault.path_part in request.path and self.fault_applies(request):
                    self.faults.remove(fault)
                    return fault.status, fault.headers, fault.body
            return self.handle(request)

    def is_list(self, request: Recorded) -> bool:
        return True

    def fault_applies(self, request: Recorded) -> bool:
        return True

    # --- orders -------------------------------------------------------------------------------

    def add(
        self,
        external_id: str,
        *,
        updated: datetime,
        lines: list[tuple[str, int, str]],
        state: str = "open",
        created: datetime | None = None,
        currency: str = "USD",
        city: str = "Berlin",
        country: str = "DE",
    ) -> None:
        raise NotImplementedError

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        raise NotImplementedError

    def handle(self, request: Recorded) -> Answer:
        raise NotImplementedError


# --- Amazon SP-API Orders v0 + Login with Amazon ------------------------------------------------


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
            order = self.orders.get(parts[-2])
            if order is None:
                return as_json(404, {"errors": [{"code": "NotFound"}]})
            return as_json(
                200, {"payload": {"AmazonOrderId": parts[-2], "OrderItems": order["_items"]}}
            )
        if request.path.endswith("/shipmentConfirmation") and request.method == "POST":
            self.confirmations.append(request)
            return 204, {}, b""
        return as_json(404, {"errors": [{"code": "NotFound"}]})

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


# --- eBay Sell Fulfillment ----------------------------------------------------------------------


class FakeEbay(FakeMarketplace):
    kind = "ebay"
    list_path = "/sell/fulfillment/v1/order"
    CLIENT_ID = "ebay-client-id"
    CLIENT_SECRET = "ebay-client-secret-value"
    REFRESH_TOKEN = "v^1.1#refresh-token-value"

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[str] = []

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
        if request.path.endswith("/shipping_fulfillment") and request.method == "POST":
            self.confirmations.append(request)
            return 201, {"Location": f"{self.base}{request.path}/1"}, b""
        return as_json(404, {"errors": [{"errorId": 32100, "message": "Not found"}]})

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


# --- AliExpress IOP -------------------------------------------------------------------------------


def iop_sign(params: dict[str, str], secret: str) -> str:
    message = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


class FakeAliExpress(FakeMarketplace):
    kind = "aliexpress"
    list_path = "/sync"
    APP_KEY = "501234"
    APP_SECRET = "ali-app-secret-value"
    ACCESS_TOKEN = "50000-ali-access-token"
    ZONE = ZoneInfo("America/Los_Angeles")
    STATUS = {
        "open": "WAIT_SELLER_SEND_GOODS",
        "pending": "PLACE_ORDER_SUCCESS",
        "shipped": "WAIT_BUYER_ACCEPT_GOODS",
        "canceled": "FINISH",
    }

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.ZONE).strftime("%Y-%m-%d %H:%M:%S")

    def _status(self, state: str) -> dict[str, Any]:
        extra = {"end_reason": "buyer_cancel_order"} if state == "canceled" else {}
        return {"order_status": self.STATUS[state], **extra}

    def add(self, external_id: str, **kw: Any) -> None:
        updated, created = kw["updated"], kw.get("created") or kw["updated"]
        self.orders[external_id] = {
            "order_id": int(external_id),
            "gmt_create": self.local(created),
            "gmt_update": self.local(updated),
            **self._status(kw.get("state", "open")),
            "buyer_signer_fullname": "Li Lei",
            "receipt_address": {
                "contact_person": "Li Lei",
                "detail_address": "3 Ring Rd",
                "city": kw.get("city", "Berlin"),
                "zip": "10178",
                "country": kw.get("country", "DE"),
            },
            "product_list": {
                "order_product_dto": [
                    {
                        "child_id": int(external_id) * 10 + index,
                        "sku_code": sku,
                        "product_count": qty,
                        "product_unit_price": {
                            "amount": price,
                            "currency_code": kw.get("currency", "USD"),
                        },
                    }
                    for index, (sku, qty, price) in enumerate(kw["lines"], start=1)
                ]
            },
        }

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        order = self.orders[external_id]
        order.pop("end_reason", None)
        order.update(self._status(state))
        order["gmt_update"] = self.local(updated)

    def is_list(self, request: Recorded) -> bool:
        return request.query.get("method") == "aliexpress.solution.order.get"

    def fault_applies(self, request: Recorded) -> bool:
        return self.is_list(request)

    def handle(self, request: Recorded) -> Answer:
        q = request.query
        if q.get("sign") != iop_sign(q, self.APP_SECRET) or q.get("app_key") != self.APP_KEY:
            return as_json(200, {"error_response": {"code": "IncompleteSignature", "msg": "sign"}})
        if q.get("access_token") != self.ACCESS_TOKEN:
            return as_json(200, {"error_response": {"code": "IllegalAccessToken", "msg": "token"}})
        param = json.loads(q["param0"])
        if q["method"] == "aliexpress.solution.order.fulfill":
            self.confirmations.append(request)
            return as_json(
                200,
                {
                    "aliexpress_solution_order_fulfill_response": {
                        "result": {"result_success": True}
                    }
                },
            )
        start = datetime.strptime(param["modified_date_start"], "%Y-%m-%d %H:%M:%S")
        end = datetime.strptime(param["modified_date_end"], "%Y-%m-%d %H:%M:%S")
        size = min(int(param.get("page_size", 20)), self.page_size)
        number = int(param.get("current_page", 1))
        rows = sorted(
            (
                o
                for o in self.orders.values()
                if start <= datetime.strptime(o["gmt_update"], "%Y-%m-%d %H:%M:%S") <= end
            ),
            key=lambda o: (o["gmt_create"], o["order_id"]),
            reverse=True,
        )
        pages = max(1, -(-len(rows) // size))
        chunk = rows[(number - 1) * size : number * size]
        self.served.append([str(o["order_id"]) for o in chunk])
        return as_json(
            200,
            {
                "aliexpress_solution_order_get_response": {
                    "result": {
                        "success": True,
                        "total_count": len(rows),
                        "current_page": number,
                        "page_size": size,
                        "total_page": pages,
                        "target_list": {"order_dto": chunk},
                    },
                    "request_id": "0ba2887315178178017221014",
                }
            },
        )


# --- Shopify Admin REST ---------------------------------------------------------------------


class FakeShopify(FakeMarketplace):
    kind = "shopify"
    list_path = "/orders.json"
    API = "/admin/api/2024-07"
    ACCESS_TOKEN = "shpat_access_token_value"
    WEBHOOK_SECRET = "shopify-webhook-secret-value"

    def _status(self, state: str, updated: datetime) -> dict[str, Any]:
        return {
            "financial_status": "pending" if state == "pending" else "paid",
            "fulfillment_status": "fulfilled" if state == "shipped" else None,
            "cancelled_at": iso(updated) if state == "canceled" else None,
        }

    def add(self, external_id: str, **kw: Any) -> None:
        created = kw.get("created") or kw["updated"]
        self.orders[external_id] = self.order_json(external_id, **kw)
        self.orders[external_id]["created_at"] = iso(created)

    def order_json(self, external_id: str, **kw: Any) -> dict[str, Any]:
        updated = kw["updated"]
        return {
            "id": int(external_id),
            "name": f"#{external_id}",
            "email": "sam@shop.example",
            "created_at": iso(kw.get("created") or updated),
            "updated_at": iso(updated),
            "currency": kw.get("currency", "USD"),
            **self._status(kw.get("state", "open"), updated),
            "customer": {"first_name": "Sam", "last_name": "Poe"},
            "shipping_address": {
                "name": "Sam Poe",
                "address1": "4 Shop Way",
                "city": kw.get("city", "Berlin"),
                "zip": "10179",
                "country_code": kw.get("country", "DE"),
            },
            "shipping_lines": [{"price": "0.00"}],
            "line_items": [
                {
                    "id": int(external_id) * 10 + index,
                    "sku": sku,
                    "quantity": qty,
                    "price": price,
                    "total_discount": "0.00",
                    "tax_lines": [],
                }
                for index, (sku, qty, price) in enumerate(kw["lines"], start=1)
            ],
        }

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        self.orders[external_id].update(self._status(state, updated))
        self.orders[external_id]["updated_at"] = iso(updated)

    def is_list(self, request: Recorded) -> bool:
        return request.method == "GET"

    def handle(self, request: Recorded) -> Answer:
        if request.headers.get("x-shopify-access-token") != self.ACCESS_TOKEN:
            return as_json(401, {"errors": "[API] Invalid API key or access token"})
        if request.path == self.API + "/orders.json":
            return self._orders(request)
        if request.path.endswith("/fulfillment_orders.json"):
            order = self.orders[request.path.split("/")[-2]]
            return as_json(
                200,
                {
                    "fulfillment_orders": [
                        {
                            "id": order["id"] * 100,
                            "status": "open",
                            "line_items": [
                                {
                                    "id": item["id"] * 100,
                                    "line_item_id": item["id"],
                                    "fulfillable_quantity": item["quantity"],
                                }
                                for item in order["line_items"]
                            ],
                        }
                    ]
                },
            )
        if request.path == self.API + "/fulfillments.json" and request.method == "POST":
            self.confirmations.append(request)
            return as_json(201, {"fulfillment": {"id": 1, "status": "success"}})
        return as_json(404, {"errors": "Not Found"})

    def _orders(self, request: Recorded) -> Answer:
        q = request.query
        if "page_info" in q:
            if set(q) - {"page_info", "limit"}:
                return as_json(400, {"errors": "page_info: only limit may be given with it"})
            cursor = json.loads(base64.urlsafe_b64decode(q["page_info"]))
        else:
            cursor = {"min": q["updated_at_min"], "max": q["updated_at_max"], "last": 0}
        lo, hi = parse_iso(cursor["min"]), parse_iso(cursor["max"])
        limit = min(int(q.get("limit", 50)), self.page_size)
        rows = sorted(
            (
                o
                for o in self.orders.values()
                if lo <= parse_iso(o["updated_at"]) <= hi and o["id"] > cursor["last"]
            ),
            key=lambda o: o["id"],
        )
        chunk = rows[:limit]
        self.served.append([str(o["id"]) for o in chunk])
        headers = {}
        if len(rows) > limit:
            token = base64.urlsafe_b64encode(
                json.dumps({**cursor, "last": chunk[-1]["id"]}).encode()
            ).decode()
            headers["Link"] = (
                f'<{self.base}{self.API}/orders.json?limit={limit}&page_info={token}>; rel="next"'
            )
        return as_json(200, {"orders": chunk}, headers)


FAKES: dict[str, type[FakeMarketplace]] = {
    "amazon": FakeAmazon,
    "ebay": FakeEbay,
    "aliexpress": FakeAliExpress,
    "shopify": FakeShopify,
}


def channel_fields(market: FakeMarketplace) -> dict[str, Any]:
    """Channel fields pointing the connector of ``market.kind`` at the fake."""
    base = market.base
    if isinstance(market, FakeAmazon):
        return {
            "endpoint": base,
            "auth_endpoint": f"{base}/auth/o2/token",
            "marketplace_id": "ATVPDKIKX0DER",
            "credentials": {
                "client_id": FakeAmazon.CLIENT_ID,
                "client_secret": FakeAmazon.CLIENT_SECRET,
                "refresh_token": FakeAmazon.REFRESH_TOKEN,
            },
        }
    if isinstance(market, FakeEbay):
        return {
            "endpoint": base,
            "auth_endpoint": f"{base}/identity/v1/oauth2/token",
            "credentials": {
                "client_id": FakeEbay.CLIENT_ID,
                "client_secret": FakeEbay.CLIENT_SECRET,
                "refresh_token": FakeEbay.REFRESH_TOKEN,
            },
        }
    if isinstance(market, FakeAliExpress):
        return {
            "endpoint": base,
            "timezone": "America/Los_Angeles",
            "credentials": {
                "app_key": FakeAliExpress.APP_KEY,
                "app_secret": FakeAliExpress.APP_SECRET,
                "access_token": FakeAliExpress.ACCESS_TOKEN,
            },
        }
    assert isinstance(market, FakeShopify)
    return {
        "endpoint": base + FakeShopify.API,
        "credentials": {
            "access_token": FakeShopify.ACCESS_TOKEN,
            "webhook_secret": FakeShopify.WEBHOOK_SECRET,
        },
    }
