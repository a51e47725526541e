"""Fake AliExpress IOP ``/sync`` (see ``servers``).

order.fulfill checks its parameters and moves the order the way AliExpress does: ``part`` ->
SELLER_PART_SEND_GOODS (more packages may follow), ``all`` -> WAIT_BUYER_ACCEPT_GOODS, after
which a further package is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.commerce.marketplace.fakes import Answer, FakeMarketplace, Recorded, as_json


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
            return self._fulfil(request, param)
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

    def _fulfil(self, request: Recorded, param: dict[str, Any]) -> Answer:
        """order.fulfill: ``part`` leaves the order open for more packages
        (SELLER_PART_SEND_GOODS), ``all`` closes it (WAIT_BUYER_ACCEPT_GOODS, no more)."""
        order = self.orders.get(str(param.get("out_ref")))
        if order is None:
            problem = "out_ref: no such order"
        elif param.get("send_type") not in ("all", "part"):
            problem = "send_type must be all or part"
        elif not param.get("logistics_no") or not param.get("service_name"):
            problem = "service_name and logistics_no are required"
        elif order["order_status"] not in ("WAIT_SELLER_SEND_GOODS", "SELLER_PART_SEND_GOODS"):
            problem = f"order status {order['order_status']} does not take a shipment"
        else:
            problem = ""
        if problem or order is None:
            result = {"result_success": False, "result_error_desc": problem}
        else:
            self.confirmations.append(request)
            shipped = param["send_type"] == "all"
            order["order_status"] = (
                "WAIT_BUYER_ACCEPT_GOODS" if shipped else "SELLER_PART_SEND_GOODS"
            )
            result = {"result_success": True}
        return as_json(200, {"aliexpress_solution_order_fulfill_response": {"result": result}})
