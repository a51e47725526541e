"""Built-in sandbox marketplaces: the four marketplace APIs served offline by the site itself.

Mounted under ``/sandbox/<kind>/`` only when ``settings.OMS_SANDBOX_MARKETPLACES`` is on
(``make run`` turns it on), so the demo's marketplace channels sync without any network. Each
sandbox answers the documented request and response shapes the connectors speak:

- ``amazon``: Login with Amazon ``POST auth/o2/token``; SP-API Orders v0 ``GET
  orders/v0/orders`` (``LastUpdatedAfter``/``LastUpdatedBefore``, ``MaxResultsPerPage``,
  ``NextToken``), ``GET orders/v0/orders/{id}/orderItems``, ``POST
  orders/v0/orders/{id}/shipmentConfirmation`` (204).
- ``ebay``: ``POST identity/v1/oauth2/token`` (HTTP Basic + refresh token); Sell Fulfillment
  ``GET sell/fulfillment/v1/order?filter=lastmodifieddate:[..]&limit&offset``, ``GET
  sell/fulfillment/v1/order/{id}/shipping_fulfillment`` (none: the sandbox keeps no state) and
  ``POST`` to it (201 + ``Location``).
- ``aliexpress``: IOP ``POST sync`` signed with HMAC-SHA256: ``aliexpress.solution.order.get``
  (modified-date window in ``America/Los_Angeles`` wall-clock time, ``current_page``) and
  ``aliexpress.solution.order.fulfill``.
- ``shopify``: Admin REST ``GET admin/api/2024-07/orders.json`` (``updated_at_min/max``,
  ``limit``, ``Link: <..page_info..>; rel="next"``), ``GET orders/{id}/fulfillment_orders.json``
  and ``POST fulfillments.json`` (201).

Which seller is asking: the sandbox issues each channel a signed account token
(:func:`account_token`, carried in the channel's credentials the way each marketplace carries
its refresh or access token). It names the tenant and the moment the sandbox account was opened,
and is signed with ``SECRET_KEY``, so a request without a valid token is refused like a bad
credential (401/403), and no tenant's catalogue can be read by guessing.

The orders are generated, not stored: deterministic per (kind, tenant, slot). A new order is
placed every :data:`INTERVAL` seconds (each kind offset by a quarter of it) since the account
was opened, over the tenant's active products (SKUs and list prices read from the tenant's
catalogue at request time). Each order is placed unpaid (pending at the marketplace), becomes
payable/open :data:`PAY_DELAY` seconds later, and one slot in nine is canceled by the buyer
:data:`CANCEL_DELAY` seconds after placing. So repeated syncs find new and updated orders as
time passes, and a sync of a window already read finds the same orders. Shipment confirmations
are checked for shape and acknowledged; the sandbox keeps no state, so a confirmed order does
not turn "shipped" in later answers.

Pacing, so that a sync's progress can be watched (both off by default; read from settings at
each request):

- ``OMS_SANDBOX_PAGE_SIZE`` (orders, default 0 = off): no order-list page holds more orders than
  this, whatever page size the request asked for (each marketplace documents that a page may
  hold fewer than asked; the connectors follow the next-page link or token either way).
- ``OMS_SANDBOX_PAGE_DELAY`` (seconds, default 0): each order-list page is answered that much
  later (:func:`page_pause`; tests replace it to hold each page until they let it go).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

INTERVAL = 600  # seconds between two new orders of one sandbox channel
PAY_DELAY = 240  # placed (pending) -> paid (open)
CANCEL_DELAY = 1500  # placed -> canceled, for one slot in nine
MAX_SLOTS = 20000  # a window never enumerates more slots than this
OFFSETS = {"amazon": 0, "ebay": 150, "aliexpress": 300, "shopify": 450}
CURRENCY = {"amazon": "EUR", "ebay": "EUR", "aliexpress": "USD", "shopify": "EUR"}
AMAZON_MARKETPLACE_ID = "A1PA6795UKMFR9"  # amazon.de
SHOPIFY_API = "admin/api/2024-07"
ALI_ZONE = ZoneInfo("America/Los_Angeles")
ALI_FORMAT = "%Y-%m-%d %H:%M:%S"
ALI_APP_KEY = "500001"
ALI_APP_SECRET = "sandbox-aliexpress-app-secret"
LWA_CLIENT_ID = "amzn1.application-oa2-client.sandbox0000000000000000"
LWA_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandbox-client-secret"
EBAY_CLIENT_ID = "OmsSandb-Demo-PRD-0a1b2c3d4-5e6f7a8b"
EBAY_CLIENT_SECRET = "PRD-sandbox-ebay-client-secret"
SHOPIFY_WEBHOOK_SECRET = "sandbox-shopify-webhook-secret"
BUYERS = [
    ("Anna Becker", "Berlin", "DE", "10115", "Torstr. 1"),
    ("Lukas Hofmann", "Hamburg", "DE", "20095", "Mönckebergstr. 7"),
    ("Marie Dubois", "Lyon", "FR", "69002", "5 rue de la République"),
    ("Paul Bernard", "Paris", "FR", "75011", "21 bd Voltaire"),
    ("Sofia Bianchi", "Milan", "IT", "20121", "Via Dante 4"),
    ("Emma Visser", "Amsterdam", "NL", "1012", "Damrak 10"),
    ("Felix Gruber", "Vienna", "AT", "1010", "Graben 12"),
    ("Lucía García", "Madrid", "ES", "28013", "Calle Mayor 3"),
]


def now() -> datetime:
    """The sandbox clock (tests replace it to make the order stream stand still)."""
    return timezone.now()


def page_size(asked: int, largest: int) -> int:
    """The orders one order-list page holds: what the request asked for, at least 1, at most the
    marketplace's documented ``largest`` and, when set, at most ``OMS_SANDBOX_PAGE_SIZE``."""
    size = min(largest, max(1, asked))
    cap = int(getattr(settings, "OMS_SANDBOX_PAGE_SIZE", 0) or 0)
    return min(size, cap) if cap > 0 else size


def page_pause() -> None:
    """Wait ``OMS_SANDBOX_PAGE_DELAY`` seconds (default 0) before an order-list page is answered
    (tests replace it to hold each page until they let it go)."""
    delay = float(getattr(settings, "OMS_SANDBOX_PAGE_DELAY", 0) or 0)
    if delay > 0:
        time.sleep(delay)


# --- the account token -------------------------------------------------------------------------


def _signature(kind: str, slug: str, opened: int) -> str:
    message = f"sandbox:{kind}:{slug}:{opened}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:24]


def account_token(kind: str, slug: str, opened: datetime) -> str:
    """The signed token of a sandbox seller account (tenant ``slug``, opened at ``opened``)."""
    stamp = int(opened.timestamp())
    return f"sbx.{slug}.{stamp}.{_signature(kind, slug, stamp)}"


@dataclass(frozen=True)
class Account:
    kind: str
    slug: str
    opened: int


def account_of(kind: str, value: str, prefix: str = "") -> Account | None:
    if not value.startswith(prefix + "sbx."):
        return None
    try:
        _, slug, stamp, sig = value[len(prefix) :].split(".")
        opened = int(stamp)
    except ValueError:
        return None
    if not hmac.compare_digest(sig, _signature(kind, slug, opened)):
        return None
    return Account(kind, slug, opened)


def sandbox_credentials(kind: str, slug: str, opened: datetime) -> dict[str, str]:
    """Credentials of a channel pointed at the sandbox (the shapes the connector expects)."""
    token = account_token(kind, slug, opened)
    if kind == "amazon":
        return {
            "client_id": LWA_CLIENT_ID,
            "client_secret": LWA_CLIENT_SECRET,
            "refresh_token": f"Atzr|{token}",
        }
    if kind == "ebay":
        return {
            "client_id": EBAY_CLIENT_ID,
            "client_secret": EBAY_CLIENT_SECRET,
            "refresh_token": f"v^1.1#{token}",
        }
    if kind == "aliexpress":
        return {"app_key": ALI_APP_KEY, "app_secret": ALI_APP_SECRET, "access_token": token}
    return {"access_token": f"shpat_{token}", "webhook_secret": SHOPIFY_WEBHOOK_SECRET}


# --- the generated order stream ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    line_id: str
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class SandboxOrder:
    slot: int
    placed: datetime
    updated: datetime
    state: str  # pending | open | canceled
    currency: str
    items: tuple[Item, ...]
    buyer: tuple[str, str, str, str, str]

    @property
    def total(self) -> Decimal:
        return sum((i.unit_price * i.quantity for i in self.items), Decimal("0"))


class Stream:
    """The orders of one sandbox account, as they stand at :func:`now`."""

    def __init__(self, account: Account) -> None:
        from commerce.models import Product, ProductPrice
        from tenancy.models import Tenant

        self.account = account
        self.currency = CURRENCY[account.kind]
        self.clock = now()
        tenant = Tenant.objects.filter(slug=account.slug).first()
        self.catalogue: list[tuple[str, Decimal]] = []
        if tenant is not None:
            prices = dict(
                ProductPrice.objects.for_tenant(tenant)
                .filter(currency=self.currency)
                .values_list("product_id", "amount")
            )
            self.catalogue = [
                (sku, prices.get(pk) or Decimal("10.00"))
                for pk, sku in Product.objects.for_tenant(tenant)
                .filter(active=True)
                .order_by("sku")
                .values_list("pk", "sku")
            ]

    def placed_at(self, slot: int) -> int:
        return slot * INTERVAL + OFFSETS[self.account.kind]

    def order(self, slot: int) -> SandboxOrder | None:
        placed = self.placed_at(slot)
        clock = int(self.clock.timestamp())
        if not self.catalogue or placed < self.account.opened or placed > clock:
            return None
        rng = random.Random(f"{self.account.kind}:{self.account.slug}:{slot}")
        picks = rng.sample(self.catalogue, k=min(len(self.catalogue), rng.choice((1, 1, 2))))
        items = tuple(
            Item(f"{slot}{n}", sku, rng.choice((1, 1, 2)), price)
            for n, (sku, price) in enumerate(picks, start=1)
        )
        state, changed = "pending", placed
        if clock >= placed + PAY_DELAY:
            state, changed = "open", placed + PAY_DELAY
        if slot % 9 == 4 and clock >= placed + CANCEL_DELAY:
            state, changed = "canceled", placed + CANCEL_DELAY
        return SandboxOrder(
            slot=slot,
            placed=datetime.fromtimestamp(placed, UTC),
            updated=datetime.fromtimestamp(changed, UTC),
            state=state,
            currency=self.currency,
            items=items,
            buyer=BUYERS[rng.randrange(len(BUYERS))],
        )

    def modified(
        self, start: datetime, end: datetime, *, end_inclusive: bool
    ) -> list[SandboxOrder]:
        """Orders whose last change lies in the window, oldest change first: what one
        order-list page is cut from, so it is answered after the :func:`page_pause`."""
        page_pause()
        offset = OFFSETS[self.account.kind]
        first = max(
            (int(start.timestamp()) - CANCEL_DELAY - offset) // INTERVAL,
            (self.account.opened - offset) // INTERVAL,
        )
        last = (min(int(end.timestamp()), int(self.clock.timestamp())) - offset) // INTERVAL
        found = []
        for slot in range(max(first, last - MAX_SLOTS), last + 1):
            order = self.order(slot)
            if order is None or order.updated < start:
                continue
            if order.updated > end or (order.updated == end and not end_inclusive):
                continue
            found.append(order)
        found.sort(key=lambda o: (o.updated, o.slot))
        return found


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_of(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return parsed


def cursor_encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def cursor_decode(value: str) -> dict[str, Any]:
    data = json.loads(base64.urlsafe_b64decode(value.encode()))
    if not isinstance(data, dict):
        raise ValueError("cursor")
    return data


def error_json(status: int, body: Any) -> JsonResponse:
    return JsonResponse(body, status=status, safe=False)


@dataclass(frozen=True)
class Call:
    """One sandbox request: method, the path below ``/sandbox/<kind>/``, query + form, headers."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, request: HttpRequest, rest: str) -> Call:
        params: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        headers = {k.lower(): v for k, v in request.headers.items()}
        return cls(request.method or "GET", rest.strip("/"), params, headers, request.body)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


Handler = Callable[[Call, str], HttpResponse]


@csrf_exempt
def sandbox_view(request: HttpRequest, kind: str, rest: str = "") -> HttpResponse:
    from commerce.marketplaces import sandbox_apis

    handler = sandbox_apis.HANDLERS.get(kind)
    if handler is None:
        return error_json(404, {"errors": "Unknown sandbox marketplace."})
    base = request.build_absolute_uri(f"/sandbox/{kind}/")
    try:
        return handler(Call.of(request, rest), base)
    except (KeyError, ValueError, TypeError) as exc:
        return error_json(400, {"errors": [{"code": "InvalidInput", "message": str(exc)[:200]}]})


def ali_local(moment: datetime) -> str:
    return moment.astimezone(ALI_ZONE).strftime(ALI_FORMAT)


def ali_parse(value: str) -> datetime:
    return datetime.strptime(value, ALI_FORMAT).replace(tzinfo=ALI_ZONE)


urlpatterns = [
    path("<str:kind>/", sandbox_view, name="sandbox-root"),
    path("<str:kind>/<path:rest>", sandbox_view, name="sandbox"),
]
