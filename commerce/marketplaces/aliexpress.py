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
  :attr:`AliExpressConnector.window_days` days, each paged by ``current_page`` (from 1, pages
  of the ``page_size`` the answer states, which may be smaller than asked); the answer's
  ``result`` carries ``total_count`` (orders in the window), ``total_page``, ``current_page``,
  ``page_size`` and ``target_list.order_dto``. The page token is
  ``"<window index>:<page>:<total_count of the page before>"``.
- Orders changing mid-run: pages are numbered over the modified-date window. A buyer's change
  stamps the order with the current time, after the window's end, so it leaves the window and
  every later order moves one place forward: the next page would skip one. Orders never enter
  the window (its end is in the past), so when ``total_count`` is ``d`` lower than the previous
  page's, the next page read is the one holding offset ``(page - 1) * page_size - d`` (see
  ``base.shifted_back``); the orders read twice are skipped by the upsert, and the order that
  left is read by the next run. The total travels in the saved page token, so a resumed run
  still compares with it.
- Fulfil: ``aliexpress.solution.order.fulfill`` with ``service_name`` (carrier),
  ``out_ref`` (order id), ``send_type`` and ``logistics_no`` (tracking). ``send_type`` is
  ``all`` only for the package that ships the last units of the order (AliExpress then moves
  the order to WAIT_BUYER_ACCEPT_GOODS and takes no further package), ``part`` for any other.
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
    page_of,
    shifted_back,
)
from commerce.marketplaces.http import HttpClient, MarketplaceError, Throttled
from commerce.marketplaces.util import BadOrder, Json, count_of

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


def _token(token: str | None) -> tuple[int, int, int | None]:
    """``"<window index>:<page>[:<total>]"`` -> (window index, page, total of the page before)."""
    parts = (token or "0:1").split(":")
    try:
        index, number = int(parts[0]), int(parts[1])
        total = int(parts[2]) if len(parts) > 2 and parts[2] else None
    except (ValueError, IndexError):
        raise MarketplaceError(f"Bad saved page token {token!r}.") from None
    if index < 0 or number < 1:
        raise MarketplaceError(f"Bad saved page token {token!r}.")
    return index, number, total


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

    def from_local(self, raw: Json, key: str) -> datetime:
        value = raw.text(key, 40)
        if not value:
            raise BadOrder(f"{key} is missing.", field=key)
        try:
            naive = datetime.strptime(value, LOCAL_FORMAT)
        except ValueError:
            raise BadOrder(f"{key} {value!r} is not yyyy-MM-dd HH:mm:ss.", field=key) from None
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def call(self, method: str, business: dict[str, Any]) -> Json:
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
        body = Json.answer(answer.json(), "AliExpress response")
        if "error_response" in body:
            error = body.obj("error_response")
            code = error.text("code", 64)
            message = f"{method}: {code} {error.text('msg', 200)}"
            if code in ("7", "ApiCallLimit"):
                raise Throttled(message, retry_after=1.0)
            raise MarketplaceError(message)
        return body

    def windows(self, window: Window) -> list[Window]:
        cuts, start, step = [], window.start, timedelta(days=self.window_days)
        while start < window.end:
            cuts.append(Window(start, min(window.end, start + step)))
            start += step
        return cuts or [window]

    def fetch_page(self, window: Window, token: str | None) -> Page:
        cuts = self.windows(window)
        index, number, previous_total = _token(token)
        if index >= len(cuts):
            raise MarketplaceError(f"Bad saved page token {token!r}.")
        cut = cuts[index]
        body = self.call(
            LIST_METHOD,
            {
                "modified_date_start": self.local(cut.start),
                "modified_date_end": self.local(cut.end),
                "current_page": number,
                "page_size": self.page_size,
            },
        )
        result = body.obj("aliexpress_solution_order_get_response").obj("result")
        if result.get("success") is False:
            raise MarketplaceError(f"order.get: {result.text('error_message', 200)}")
        raw_orders = result.obj("target_list").array("order_dto")
        next_token = self._next_token(result, index, number, previous_total, len(cuts))
        return page_of(raw_orders, id_key="order_id", parse=self._order, next_token=next_token)

    def _next_token(
        self, result: Json, index: int, number: int, previous_total: int | None, cuts: int
    ) -> str | None:
        total = count_of(result.get("total_count"))
        size = count_of(result.get("page_size")) or self.page_size
        back = shifted_back((number - 1) * size, previous_total, total)
        if back is not None:
            return f"{index}:{back // size + 1}:{total}"
        total_page = count_of(result.get("total_page"))
        if total_page is not None and number < total_page:
            return f"{index}:{number + 1}:{'' if total is None else total}"
        if index + 1 < cuts:
            return f"{index + 1}:1"
        return None

    def _order(self, raw: Json, order_id: str) -> MarketOrder:
        status = raw.text("order_status", 40)
        state = STATUS_MAP.get(status)
        if state is None:
            raise BadOrder(f"Unknown order_status {status!r}.", field="order_status")
        if status == "FINISH" and raw.text("end_reason", 64) in CANCEL_REASONS:
            state = MarketState.CANCELED
        currency = ""
        lines = []
        for item in raw.obj("product_list").objs("order_product_dto"):
            price = item.obj("product_unit_price")
            currency = currency or price.text("currency_code", 3)
            lines.append(
                MarketLine(
                    external_line_id=item.text("child_id", 128),
                    sku=item.text("sku_code", 64),
                    quantity=item.decimal("product_count"),
                    unit_price=price.decimal("amount"),
                )
            )
        address = raw.obj("receipt_address")
        return MarketOrder(
            external_id=order_id,
            state=state,
            marketplace_status=status,
            updated_at=self.from_local(raw, "gmt_update"),
            placed_at=self.from_local(raw, "gmt_create"),
            currency=currency,
            lines=tuple(lines),
            shipping_total=raw.obj("logistics_amount").decimal("amount", default=ZERO),
            customer_name=raw.text("buyer_signer_fullname", 200),
            ship_name=address.text("contact_person", 200),
            ship_line1=address.text("detail_address", 200),
            ship_line2=address.text("address2", 200),
            ship_city=address.text("city", 100),
            ship_region=address.text("province", 100),
            ship_postal_code=address.text("zip", 20),
            ship_country=address.text("country", 2).upper(),
        )

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> None:
        body = self.call(
            FULFIL_METHOD,
            {
                "service_name": confirmation.carrier or "OTHER",
                "out_ref": confirmation.external_id,
                "send_type": "all" if confirmation.completes_order else "part",
                "logistics_no": confirmation.tracking_number,
            },
        )
        result = body.obj("aliexpress_solution_order_fulfill_response").obj("result")
        if result.get("result_success") is False:
            raise MarketplaceError(f"order.fulfill: {result.text('result_error_desc', 200)}")


connector_register("aliexpress", AliExpressConnector)
