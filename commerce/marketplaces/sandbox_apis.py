"""The sandbox marketplaces' API shapes (see ``commerce.marketplaces.sandbox``): one handler per
marketplace, answering its documented requests from the generated order stream."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse

from commerce.marketplaces.sandbox import (
    ALI_APP_KEY,
    ALI_APP_SECRET,
    AMAZON_MARKETPLACE_ID,
    EBAY_CLIENT_ID,
    EBAY_CLIENT_SECRET,
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    SHOPIFY_API,
    Account,
    Call,
    Handler,
    SandboxOrder,
    Stream,
    account_of,
    ali_local,
    ali_parse,
    cursor_decode,
    cursor_encode,
    error_json,
    iso_z,
    page_size,
    time_of,
)

# --- Amazon SP-API Orders v0 + Login with Amazon -----------------------------------------------

AMAZON_STATUS = {"pending": "Pending", "open": "Unshipped", "canceled": "Canceled"}
AMAZON_RATE = {"x-amzn-RateLimit-Limit": "0.0167"}


def amazon_id(slot: int) -> str:
    return f"302-{slot // 10**7:07d}-{slot % 10**7:07d}"


def amazon_slot(order_id: str) -> int:
    _, high, low = order_id.split("-")
    return int(high) * 10**7 + int(low)


def _amazon_order(order: SandboxOrder) -> dict[str, Any]:
    name, city, country, postal, line1 = order.buyer
    return {
        "AmazonOrderId": amazon_id(order.slot),
        "PurchaseDate": iso_z(order.placed),
        "LastUpdateDate": iso_z(order.updated),
        "OrderStatus": AMAZON_STATUS[order.state],
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.de",
        "OrderTotal": {"CurrencyCode": order.currency, "Amount": f"{order.total:.2f}"},
        "NumberOfItemsShipped": 0,
        "NumberOfItemsUnshipped": sum(i.quantity for i in order.items),
        "MarketplaceId": AMAZON_MARKETPLACE_ID,
        "ShippingAddress": {
            "Name": name,
            "AddressLine1": line1,
            "City": city,
            "PostalCode": postal,
            "CountryCode": country,
        },
        "BuyerInfo": {"BuyerEmail": f"{order.slot}@marketplace.amazon.de", "BuyerName": name},
    }


def _amazon_items(order: SandboxOrder) -> list[dict[str, Any]]:
    money = order.currency
    return [
        {
            "ASIN": "B0" + hashlib.sha1(item.sku.encode()).hexdigest()[:8].upper(),
            "SellerSKU": item.sku,
            "OrderItemId": item.line_id,
            "Title": item.sku,
            "QuantityOrdered": item.quantity,
            "QuantityShipped": 0,
            "ItemPrice": {
                "CurrencyCode": money,
                "Amount": f"{item.unit_price * item.quantity:.2f}",
            },
            "ItemTax": {"CurrencyCode": money, "Amount": "0.00"},
            "PromotionDiscount": {"CurrencyCode": money, "Amount": "0.00"},
            "ShippingPrice": {"CurrencyCode": money, "Amount": "0.00"},
        }
        for item in order.items
    ]


def _amazon_denied() -> JsonResponse:
    return error_json(
        403,
        {
            "errors": [
                {
                    "code": "Unauthorized",
                    "message": "Access to requested resource is denied.",
                    "details": "",
                }
            ]
        },
    )


def amazon(call: Call, base: str) -> HttpResponse:
    if call.path == "auth/o2/token" and call.method == "POST":
        p = call.params
        account = account_of("amazon", p.get("refresh_token", ""), "Atzr|")
        valid = p.get("client_id") == LWA_CLIENT_ID and p.get("client_secret") == LWA_CLIENT_SECRET
        if p.get("grant_type") != "refresh_token" or account is None or not valid:
            return error_json(
                400, {"error": "invalid_grant", "error_description": "Bad credentials"}
            )
        token = p["refresh_token"].removeprefix("Atzr|")
        return JsonResponse(
            {"access_token": f"Atza|{token}", "token_type": "bearer", "expires_in": 3600}
        )
    account = account_of("amazon", call.headers.get("x-amz-access-token", ""), "Atza|")
    if account is None:
        return _amazon_denied()
    parts = call.path.split("/")
    if call.path == "orders/v0/orders" and call.method == "GET":
        return _amazon_orders(call, account)
    if len(parts) == 5 and parts[:3] == ["orders", "v0", "orders"]:
        order = Stream(account).order(amazon_slot(parts[3]))
        if order is None:
            return error_json(404, {"errors": [{"code": "NotFound", "message": "Order not found"}]})
        if parts[4] == "orderItems" and call.method == "GET":
            payload = {"AmazonOrderId": parts[3], "OrderItems": _amazon_items(order)}
            return JsonResponse({"payload": payload}, headers=AMAZON_RATE)
        if parts[4] == "shipmentConfirmation" and call.method == "POST":
            body = call.json() or {}
            package = body.get("packageDetail") or {}
            if body.get("marketplaceId") != AMAZON_MARKETPLACE_ID or not package.get("orderItems"):
                return error_json(400, {"errors": [{"code": "InvalidInput", "message": "body"}]})
            return HttpResponse(status=204)
    return error_json(404, {"errors": [{"code": "NotFound", "message": "Resource not found"}]})


def _amazon_orders(call: Call, account: Account) -> HttpResponse:
    q = call.params
    if q.get("MarketplaceIds") != AMAZON_MARKETPLACE_ID:
        return error_json(400, {"errors": [{"code": "InvalidInput", "message": "MarketplaceIds"}]})
    if "NextToken" in q:
        cursor = cursor_decode(q["NextToken"])
    else:
        size = page_size(int(q.get("MaxResultsPerPage", 100)), 100)
        cursor = {"after": q["LastUpdatedAfter"], "before": q["LastUpdatedBefore"], "skip": 0}
        cursor["size"] = size
    rows = Stream(account).modified(
        time_of(cursor["after"]), time_of(cursor["before"]), end_inclusive=False
    )
    skip, size = int(cursor["skip"]), int(cursor["size"])
    chunk = rows[skip : skip + size]
    payload: dict[str, Any] = {
        "Orders": [_amazon_order(o) for o in chunk],
        "LastUpdatedBefore": cursor["before"],
    }
    if skip + size < len(rows):
        payload["NextToken"] = cursor_encode({**cursor, "skip": skip + size})
    return JsonResponse({"payload": payload}, headers=AMAZON_RATE)


# --- eBay Sell Fulfillment ---------------------------------------------------------------------

EBAY_ORDERS = "sell/fulfillment/v1/order"


def ebay_id(slot: int) -> str:
    return f"27-{slot // 100000:05d}-{slot % 100000:05d}"


def ebay_slot(order_id: str) -> int:
    _, high, low = order_id.split("-")
    return int(high) * 100000 + int(low)


def _ebay_order(order: SandboxOrder) -> dict[str, Any]:
    name, city, country, postal, line1 = order.buyer
    money = order.currency
    return {
        "orderId": ebay_id(order.slot),
        "creationDate": iso_z(order.placed),
        "lastModifiedDate": iso_z(order.updated),
        "orderFulfillmentStatus": "NOT_STARTED",
        "orderPaymentStatus": "PENDING" if order.state == "pending" else "PAID",
        "cancelStatus": {
            "cancelState": "CANCELED" if order.state == "canceled" else "NONE_REQUESTED",
            "cancelRequests": [],
        },
        "pricingSummary": {"total": {"value": f"{order.total:.2f}", "currency": money}},
        "buyer": {"username": f"buyer{order.slot % 997}"},
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "shippingStep": {
                    "shipTo": {
                        "fullName": name,
                        "email": f"{order.slot}@members.ebay.de",
                        "contactAddress": {
                            "addressLine1": line1,
                            "city": city,
                            "postalCode": postal,
                            "countryCode": country,
                        },
                    }
                },
            }
        ],
        "lineItems": [
            {
                "lineItemId": item.line_id,
                "sku": item.sku,
                "title": item.sku,
                "quantity": item.quantity,
                "lineItemCost": {
                    "value": f"{item.unit_price * item.quantity:.2f}",
                    "currency": money,
                },
                "deliveryCost": {"shippingCost": {"value": "0.00", "currency": money}},
                "taxes": [],
                "appliedPromotions": [],
            }
            for item in order.items
        ],
    }


def ebay(call: Call, base: str) -> HttpResponse:
    if call.path == "identity/v1/oauth2/token" and call.method == "POST":
        basic = base64.b64encode(f"{EBAY_CLIENT_ID}:{EBAY_CLIENT_SECRET}".encode()).decode()
        refresh = call.params.get("refresh_token", "")
        account = account_of("ebay", refresh, "v^1.1#")
        if (
            call.headers.get("authorization") != f"Basic {basic}"
            or call.params.get("grant_type") != "refresh_token"
            or account is None
        ):
            return error_json(401, {"error": "invalid_client", "error_description": "client auth"})
        token = refresh.removeprefix("v^1.1#")
        return JsonResponse(
            {"access_token": f"v^1.1#i^1#{token}", "expires_in": 7200, "token_type": "User Access"}
        )
    bearer = call.headers.get("authorization", "").removeprefix("Bearer ")
    account = account_of("ebay", bearer, "v^1.1#i^1#")
    if account is None:
        return error_json(401, {"errors": [{"errorId": 1001, "message": "Invalid access token"}]})
    if call.path == EBAY_ORDERS and call.method == "GET":
        return _ebay_orders(call, account, base)
    parts = call.path.split("/")
    if call.path.startswith(EBAY_ORDERS + "/") and parts[-1] == "shipping_fulfillment":
        order = Stream(account).order(ebay_slot(parts[-2]))
        body = call.json() or {}
        if order is None:
            return error_json(404, {"errors": [{"errorId": 32100, "message": "Invalid order ID"}]})
        if call.method == "GET":  # getShippingFulfillments: the sandbox keeps none
            return JsonResponse({"fulfillments": [], "total": 0})
        if call.method != "POST" or not body.get("lineItems") or not body.get("trackingNumber"):
            return error_json(400, {"errors": [{"errorId": 32200, "message": "Invalid request"}]})
        return HttpResponse(status=201, headers={"Location": f"{base}{call.path}/1"})
    return error_json(404, {"errors": [{"errorId": 32100, "message": "Not found"}]})


def _ebay_orders(call: Call, account: Account, base: str) -> HttpResponse:
    q = call.params
    spec = q["filter"].removeprefix("lastmodifieddate:[").removesuffix("]")
    start, end = (time_of(v) for v in spec.split(".."))
    limit = page_size(int(q.get("limit", 50)), 200)
    offset = max(0, int(q.get("offset", 0)))
    rows = Stream(account).modified(start, end, end_inclusive=True)
    rows.sort(key=lambda o: (o.placed, o.slot), reverse=True)  # eBay: newest created first
    chunk = rows[offset : offset + limit]
    url = f"{base}{EBAY_ORDERS}?{urlencode({'filter': q['filter'], 'limit': limit})}"
    body: dict[str, Any] = {
        "href": f"{url}&offset={offset}",
        "total": len(rows),
        "limit": limit,
        "offset": offset,
        "orders": [_ebay_order(o) for o in chunk],
    }
    if offset + limit < len(rows):
        body["next"] = f"{url}&offset={offset + limit}"
    return JsonResponse(body)


# --- AliExpress IOP ----------------------------------------------------------------------------

ALI_STATUS = {"pending": "PLACE_ORDER_SUCCESS", "open": "WAIT_SELLER_SEND_GOODS"}


def _ali_sign(params: dict[str, str]) -> str:
    message = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hmac.new(ALI_APP_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def _ali_order(order: SandboxOrder) -> dict[str, Any]:
    name, city, country, postal, line1 = order.buyer
    status = {"order_status": ALI_STATUS.get(order.state, "FINISH")}
    if order.state == "canceled":
        status["end_reason"] = "buyer_cancel_order"
    return {
        "order_id": 8100000000000000 + order.slot,
        "gmt_create": ali_local(order.placed),
        "gmt_update": ali_local(order.updated),
        **status,
        "buyer_signer_fullname": name,
        "receipt_address": {
            "contact_person": name,
            "detail_address": line1,
            "city": city,
            "zip": postal,
            "country": country,
        },
        "logistics_amount": {"amount": "0.00", "currency_code": order.currency},
        "product_list": {
            "order_product_dto": [
                {
                    "child_id": int(item.line_id),
                    "sku_code": item.sku,
                    "product_name": item.sku,
                    "product_count": item.quantity,
                    "product_unit_price": {
                        "amount": f"{item.unit_price:.2f}",
                        "currency_code": order.currency,
                    },
                }
                for item in order.items
            ]
        },
    }


def aliexpress(call: Call, base: str) -> HttpResponse:
    if call.path != "sync" or call.method != "POST":
        return error_json(404, {"error_response": {"code": "InvalidApiPath", "msg": "Not found"}})
    q = call.params
    if q.get("app_key") != ALI_APP_KEY or not hmac.compare_digest(q.get("sign", ""), _ali_sign(q)):
        return JsonResponse({"error_response": {"code": "IncompleteSignature", "msg": "sign"}})
    account = account_of("aliexpress", q.get("access_token", ""))
    if account is None:
        return JsonResponse({"error_response": {"code": "IllegalAccessToken", "msg": "token"}})
    param = json.loads(q["param0"])
    if q.get("method") == "aliexpress.solution.order.fulfill":
        ok = bool(param.get("out_ref")) and bool(param.get("logistics_no"))
        result: dict[str, Any] = {"result_success": ok}
        if not ok:
            result["result_error_desc"] = "out_ref and logistics_no are required"
        return JsonResponse({"aliexpress_solution_order_fulfill_response": {"result": result}})
    if q.get("method") != "aliexpress.solution.order.get":
        return JsonResponse({"error_response": {"code": "InvalidMethod", "msg": "method"}})
    start = ali_parse(param["modified_date_start"])
    end = ali_parse(param["modified_date_end"])
    size = page_size(int(param.get("page_size", 20)), 50)
    number = max(1, int(param.get("current_page", 1)))
    rows = Stream(account).modified(start, end, end_inclusive=True)
    rows.sort(key=lambda o: (o.placed, o.slot), reverse=True)
    chunk = rows[(number - 1) * size : number * size]
    listing: dict[str, Any] = {
        "success": True,
        "total_count": len(rows),
        "current_page": number,
        "page_size": size,
        "total_page": max(1, -(-len(rows) // size)),
        "target_list": {"order_dto": [_ali_order(o) for o in chunk]},
    }
    return JsonResponse(
        {"aliexpress_solution_order_get_response": {"result": listing, "request_id": "sbx"}}
    )


# --- Shopify Admin REST ------------------------------------------------------------------------

SHOPIFY_ID = 5400000000000


def _shopify_order(order: SandboxOrder) -> dict[str, Any]:
    name, city, country, postal, line1 = order.buyer
    first, _, last = name.partition(" ")
    oid = SHOPIFY_ID + order.slot
    return {
        "id": oid,
        "name": f"#{1000 + order.slot % 100000}",
        "email": f"{order.slot}@shop.example",
        "created_at": iso_z(order.placed),
        "updated_at": iso_z(order.updated),
        "currency": order.currency,
        "financial_status": "pending" if order.state == "pending" else "paid",
        "fulfillment_status": None,
        "cancelled_at": iso_z(order.updated) if order.state == "canceled" else None,
        "cancel_reason": "customer" if order.state == "canceled" else None,
        "total_price": f"{order.total:.2f}",
        "customer": {"first_name": first, "last_name": last},
        "shipping_address": {
            "name": name,
            "address1": line1,
            "city": city,
            "zip": postal,
            "country_code": country,
        },
        "shipping_lines": [{"title": "Standard", "price": "0.00"}],
        "line_items": [
            {
                "id": int(item.line_id),
                "sku": item.sku,
                "title": item.sku,
                "quantity": item.quantity,
                "price": f"{item.unit_price:.2f}",
                "total_discount": "0.00",
                "tax_lines": [],
            }
            for item in order.items
        ],
    }


def shopify(call: Call, base: str) -> HttpResponse:
    account = account_of("shopify", call.headers.get("x-shopify-access-token", ""), "shpat_")
    if account is None:
        return error_json(401, {"errors": "[API] Invalid API key or access token"})
    if not call.path.startswith(SHOPIFY_API + "/"):
        return error_json(404, {"errors": "Not Found"})
    rest = call.path.removeprefix(SHOPIFY_API + "/")
    limits = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
    if rest == "orders.json" and call.method == "GET":
        return _shopify_orders(call, account, base, limits)
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == "orders" and parts[2] == "fulfillment_orders.json":
        order = Stream(account).order(int(parts[1]) - SHOPIFY_ID)
        if order is None:
            return error_json(404, {"errors": "Not Found"})
        line_items = [
            {
                "id": int(i.line_id) * 100,
                "line_item_id": int(i.line_id),
                "fulfillable_quantity": i.quantity,
            }
            for i in order.items
        ]
        fo = {"id": (SHOPIFY_ID + order.slot) * 10, "status": "open", "line_items": line_items}
        return JsonResponse({"fulfillment_orders": [fo]}, headers=limits)
    if rest == "fulfillments.json" and call.method == "POST":
        body = (call.json() or {}).get("fulfillment") or {}
        if not body.get("line_items_by_fulfillment_order"):
            return error_json(422, {"errors": {"line_items_by_fulfillment_order": ["is required"]}})
        return JsonResponse(
            {"fulfillment": {"id": 1, "status": "success"}}, status=201, headers=limits
        )
    return error_json(404, {"errors": "Not Found"})


def _shopify_orders(
    call: Call, account: Account, base: str, headers: dict[str, str]
) -> HttpResponse:
    q = call.params
    if "page_info" in q:
        if set(q) - {"page_info", "limit"}:
            return error_json(400, {"errors": "page_info: only limit may be given with it"})
        cursor = cursor_decode(q["page_info"])
    else:
        cursor = {"min": q["updated_at_min"], "max": q["updated_at_max"], "last": 0}
    limit = page_size(int(q.get("limit", 50)), 250)
    rows = [
        o
        for o in Stream(account).modified(
            time_of(cursor["min"]), time_of(cursor["max"]), end_inclusive=True
        )
        if SHOPIFY_ID + o.slot > int(cursor["last"])
    ]
    rows.sort(key=lambda o: o.slot)  # Shopify's cursor pages by id
    chunk = rows[:limit]
    answer = JsonResponse({"orders": [_shopify_order(o) for o in chunk]}, headers=headers)
    if len(rows) > limit:
        token = cursor_encode({**cursor, "last": SHOPIFY_ID + chunk[-1].slot})
        answer["Link"] = (
            f'<{base}{SHOPIFY_API}/orders.json?limit={limit}&page_info={token}>; rel="next"'
        )
    return answer


HANDLERS: dict[str, Handler] = {
    "amazon": amazon,
    "ebay": ebay,
    "aliexpress": aliexpress,
    "shopify": shopify,
}
