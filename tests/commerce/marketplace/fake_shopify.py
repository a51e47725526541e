"""Fake Shopify Admin REST API (see ``servers``).

Fulfillment orders report, line by line, the quantity still fulfillable; a fulfillment of more
than that is refused (422), and an accepted one lowers it.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from tests.commerce.marketplace.fakes import (
    Answer,
    FakeMarketplace,
    Recorded,
    as_json,
    iso,
    parse_iso,
)


class FakeShopify(FakeMarketplace):
    kind = "shopify"
    list_path = "/orders.json"
    API = "/admin/api/2024-07"
    ACCESS_TOKEN = "shpat_access_token_value"
    WEBHOOK_SECRET = "shopify-webhook-secret-value"

    def __init__(self) -> None:
        super().__init__()
        self.fulfilled: dict[int, int] = {}  # order line item id -> units fulfilled

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
            return self._fulfillment_orders(request.path.split("/")[-2])
        if request.path == self.API + "/fulfillments.json" and request.method == "POST":
            return self._fulfil(request)
        return as_json(404, {"errors": "Not Found"})

    # --- fulfillment orders: what is left to fulfil, line by line ----------------------------

    def _fulfillment_orders(self, order_id: str) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return as_json(404, {"errors": "Not Found"})
        items = [
            {
                "id": item["id"] * 100,
                "line_item_id": item["id"],
                "fulfillable_quantity": item["quantity"] - self.fulfilled.get(item["id"], 0),
            }
            for item in order["line_items"]
        ]
        status = "open" if any(i["fulfillable_quantity"] for i in items) else "closed"
        return as_json(
            200,
            {
                "fulfillment_orders": [
                    {"id": order["id"] * 100, "status": status, "line_items": items}
                ]
            },
        )

    def _fulfil(self, request: Recorded) -> Answer:
        """POST fulfillments.json: each fulfillment order line item at most its fulfillable
        quantity (422 otherwise, as Shopify answers)."""
        body = json.loads(request.body).get("fulfillment") or {}
        lines = {
            item["id"] * 100: item for order in self.orders.values() for item in order["line_items"]
        }
        wanted: dict[int, int] = {}
        for group in body.get("line_items_by_fulfillment_order") or []:
            for entry in group.get("fulfillment_order_line_items") or []:
                wanted[entry.get("id")] = wanted.get(entry.get("id"), 0) + entry.get("quantity", 0)
        for fo_line_id, quantity in wanted.items():
            item = lines.get(fo_line_id)
            left = item["quantity"] - self.fulfilled.get(item["id"], 0) if item else 0
            if not isinstance(quantity, int) or not 0 < quantity <= left:
                return as_json(422, {"errors": [f"Invalid quantity for line item {fo_line_id}"]})
        if not wanted or not (body.get("tracking_info") or {}).get("number"):
            return as_json(422, {"errors": ["line items and tracking_info.number are required"]})
        self.confirmations.append(request)
        for fo_line_id, quantity in wanted.items():
            line_id = lines[fo_line_id]["id"]
            self.fulfilled[line_id] = self.fulfilled.get(line_id, 0) + quantity
        return as_json(201, {"fulfillment": {"id": len(self.confirmations), "status": "success"}})

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
