"""AliExpress Open Platform (IOP), seller order API.

Requests go to ``{endpoint}/sync`` with the system parameters ``method``, ``app_key``,
``access_token``, ``timestamp`` (ms), ``sign_method=sha256`` and ``sign``: the upper-case hex
HMAC-SHA256, keyed by the app secret, of every parameter sorted by name and concatenated as
``name + value``. Business parameters travel as JSON in one parameter (``param0`` /
``param_one``).

- Order list: ``aliexpress.solution.order.get`` with ``param0 = {"modified_date_start",
  "modified_date_end", "current_page", "page_size"}``. The dates are wall-clock times
  ``yyyy-MM-dd HH:mm:ss`` in the marketplace's time zone (``channel.timezone``, e.g.
  ``America/Los_Angeles``), as are ``gmt_create``/``gmt_update`` in the answer; they are
  converted from and to UTC here. The sync window is cut into modified-date windows of at most
  :attr:`AliExpressConnector.window_days` days, each paged by ``current_page``; the page token
  is ``"<window index>:<page>"``.
- Fulfil: ``aliexpress.solution.order.fulfill`` with ``service_name`` (carrier),
  ``out_ref`` (order id), ``send_type`` (``all``/``part``) and ``logistics_no`` (tracking).
- An ``error_response`` object is a refusal (code ``7``/``ApiCallLimit`` = throttled).

Credentials: ``app_key``, ``app_secret``, ``access_token``.

Status mapping (``order_status``): PLACE_ORDER_SUCCESS, RISK_CONTROL,
WAIT_SELLER_EXAMINE_MONEY -> pending; WAIT_SELLER_SEND_GOODS, SELLER_PART_SEND_GOODS,
IN_CANCEL, IN_ISSUE, IN_FROZEN -> open; WAIT_BUYER_ACCEPT_GOODS, FUND_PROCESSING, FINISH ->
shipped (FINISH with an ``end_reason`` of a cancellation, e.g. ``buyer_cancel_order``, ->
canceled).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

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
from commerce.marketplaces.http import HttpClient, MarketplaceError, Throttled
from commerce.marketplaces.util import BadOrder, decimal_of, mapping, text

ZERO = Decimal("0")
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
LIST_METHOD = "aliexpress.solution.order.get"
FULFIL_METHOD = "aliexpress.solution.order.fulfill"

STATUS_MAP: dict[str, MarketState] = {
    "PLACE_ORDER_SUCCESS": MarketState.PENDING,
    "RISK_CONTROL": MarketState.PENDING,
    "WAIT_SELLER_EXAMINE_MONEY": MarketState.PENDING,
    "WAIT_SELLER_SEND_GOODS": MarketState.OPEN,
    "SELLER_PART_SEND_GOODS": MarketState.OPEN,
    "IN_CANCEL": MarketState.OPEN,
    "IN_ISSUE": MarketState.OPEN,
    "IN_FROZEN": MarketState.OPEN,
    "WAIT_BUYER_ACCEPT_GOODS": MarketState.SHIPPED,
    "FUND_PROCESSING": MarketState.SHIPPED,
    "FINISH": MarketState.SHIPPED,
}
CANCEL_REASONS = frozenset(
    {
        "buyer_cancel_order",
        "seller_cancel_order",
        "buyer_cancel_notpay_order",
        "cancel_order_close_trade",
        "risk_reject_closed",
        "seller_send_goods_timeout",
    }
)


def sign(params: dict[str, str], secret: str) -> str:
    """IOP signature: HMAC-SHA256 over the sorted ``name + value`` pairs, upper-case hex."""
    message = "".join(f"{key}{params[key]}" for key in sorted(params))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


class AliExpressConnector(Connector):
    page_size = 50
    window_days = 15

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.http = HttpClient(channel.endpoint)
        self.zone = ZoneInfo(channel.timezone or "UTC")

    def close(self) -> None:
        self.http.close()

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime(LOCAL_FORMAT)

    def from_local(self, value: Any, *, what: str) -> datetime:
        if not isinstance(value, str) or not value:
            raise BadOrder(f"{what} is missing.")
        try:
            naive = datetime.strptime(value, LOCAL_FORMAT)
        except ValueError:
            raise BadOrder(f"{what} {value!r} is not yyyy-MM-dd HH:mm:ss.") from None
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def call(self, method: str, business: dict[str, Any]) -> dict[str, Any]:
        params = {
            "method": method,
            "app_key": self.credential("app_key"),
            "access_token": self.credential("access_token"),
            "timestamp": str(int(time.time() * 1000)),
            "sign_method": "sha256",
            "param0": json.dumps(business, separators=(",", ":")),
        }
        params["sign"] = sign(params, self.credential("app_secret"))
        answer = self.http.request("POST", "/sync", form=params)
        body = mapping(answer.json(), what="AliExpress response")
        if "error_response" in body:
            error = mapping(body["error_response"], what="error_response")
            code = str(error.get("code", ""))
            message = f"{method}: {code} {text(error.get('msg'), 200)}"
            if code in ("7", "ApiCallLimit"):
                raise Throttled(message, retry_after=1.0)
            raise MarketplaceError(message)
        return dict(body)

    def windows(self, window: Window) -> list[Window]:
        cuts, start, step = [], window.start, timedelta(days=self.window_days)
        while start < window.end:
            cuts.append(Window(start, min(window.end, start + step)))
            start += step
        return cuts or [window]

    def fetch_page(self, window: Window, token: str | None) -> Page:
        cuts = self.windows(window)
        try:
            index, number = (int(part) for part in (token or "0:1").split(":"))
            cut = cuts[index]
        except (ValueError, IndexError):
            raise MarketplaceError(f"Bad saved page token {token!r}.") from None
        body = self.call(
            LIST_METHOD,
            {
                "modified_date_start": self.local(cut.start),
                "modified_date_end": self.local(cut.end),
                "current_page": number,
                "page_size": self.page_size,
            },
        )
        response = mapping(
            body.get("aliexpress_solution_order_get_response", {}), what="order.get response"
        )
        result = mapping(response.get("result", {}), what="result")
        if result.get("success") is False:
            raise MarketplaceError(f"order.get: {text(result.get('error_message'), 200)}")
        targets = mapping(result.get("target_list") or {}, what="target_list")
        raw_orders = targets.get("order_dto") or []
        if not isinstance(raw_orders, list):
            raise MarketplaceError("target_list.order_dto is not a list.")
        total_page = result.get("total_page")
        more = isinstance(total_page, int) and number < total_page
        if more:
            next_token: str | None = f"{index}:{number + 1}"
        elif index + 1 < len(cuts):
            next_token = f"{index + 1}:1"
        else:
            next_token = None
        page = Page(orders=[], next_token=next_token)
        for raw in raw_orders:
            raw = mapping(raw, what="order_dto")
            order_id = text(raw.get("order_id"), 128)
            try:
                page.orders.append(self._order(raw, order_id))
            except BadOrder as exc:
                page.rejected.append((order_id or "?", str(exc)))
        return page

    def _order(self, raw: Any, order_id: str) -> MarketOrder:
        if not order_id:
            raise BadOrder("order_id is missing.")
        status = text(raw.get("order_status"), 40)
        state = STATUS_MAP.get(status)
        if state is None:
            raise BadOrder(f"Unknown order_status {status!r}.")
        if status == "FINISH" and raw.get("end_reason") in CANCEL_REASONS:
            state = MarketState.CANCELED
        products = (raw.get("product_list") or {}).get("order_product_dto") or []
        currency = ""
        lines = []
        for item in products:
            if not isinstance(item, dict):
                raise BadOrder("order_product_dto entry is not an object.")
            price = item.get("product_unit_price") or {}
            currency = currency or text(price.get("currency_code"), 3)
            lines.append(
                MarketLine(
                    external_line_id=text(item.get("child_id"), 128),
                    sku=text(item.get("sku_code"), 64),
                    quantity=decimal_of(item.get("product_count"), what="product_count"),
                    unit_price=decimal_of(price.get("amount"), what="product_unit_price.amount"),
                )
            )
        shipping = decimal_of(
            (raw.get("logistics_amount") or {}).get("amount"), what="logistics_amount", default=ZERO
        )
        address = raw.get("receipt_address") or {}
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=self.from_local(raw.get("gmt_update"), what="gmt_update"),
            placed_at=self.from_local(raw.get("gmt_create"), what="gmt_create"),
            currency=currency,
            lines=tuple(lines),
            shipping_total=shipping,
            customer_name=text(raw.get("buyer_signer_fullname"), 200),
            ship_name=text(address.get("contact_person"), 200),
            ship_line1=text(address.get("detail_address"), 200),
            ship_line2=text(address.get("address2"), 200),
            ship_city=text(address.get("city"), 100),
            ship_region=text(address.get("province"), 100),
            ship_postal_code=text(address.get("zip"), 20),
            ship_country=text(address.get("country"), 2).upper(),
        )

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        body = self.call(
            FULFIL_METHOD,
            {
                "service_name": confirmation.carrier or "OTHER",
                "out_ref": confirmation.external_id,
                "send_type": "all",
                "logistics_no": confirmation.tracking_number,
            },
        )
        response = mapping(
            body.get("aliexpress_solution_order_fulfill_response", {}), what="fulfill response"
        )
        result = mapping(response.get("result", {}), what="result")
        if result.get("result_success") is False:
            raise MarketplaceError(f"order.fulfill: {text(result.get('result_error_desc'), 200)}")


connector_register("aliexpress", AliExpressConnector)
