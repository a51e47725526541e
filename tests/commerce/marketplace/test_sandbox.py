"""The built-in sandbox marketplaces and the demo channels pointed at them: a real sync of each
connector over HTTP against the sandbox served by the Django site (``live_server``)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commerce.demo_marketplaces import marketplace_channels_seed
from commerce.marketplaces import sandbox
from commerce.marketplaces.aliexpress import AliExpressConnector
from commerce.marketplaces.amazon import AmazonConnector
from commerce.marketplaces.ebay import EbayConnector
from commerce.marketplaces.shopify import ShopifyConnector
from commerce.models import Channel, FxRate, SalesOrder, SalesOrderLine, SyncRun
from commerce.services.sync import channel_sync_start, sync_run_execute
from orders.models import Order, OrderEvent, OrderStatus
from tests.commerce.factories import ProductFactory

SANDBOX_URLS = "tests.commerce.marketplace.sandbox_urls"
SKUS = ("MUG-1", "SHIRT-2", "LAMP-3")
OFFSETS = {"AMAZON-DE": 0, "EBAY-DE": 150, "ALIEXPRESS": 300, "SHOPIFY": 450}


def expected_open(opened: datetime, clock: datetime, offset: int) -> int:
    """Orders the sandbox documents as open at ``clock``: placed every 600 s (plus the kind's
    offset) since ``opened``, paid 240 s after placing, one slot in nine canceled after 1500 s."""
    count = 0
    for slot in range(int(opened.timestamp()) // 600 - 1, int(clock.timestamp()) // 600 + 1):
        placed = slot * 600 + offset
        if not opened.timestamp() <= placed <= clock.timestamp():
            continue
        canceled = slot % 9 == 4 and clock.timestamp() >= placed + 1500
        if clock.timestamp() >= placed + 240 and not canceled:
            count += 1
    return count


def counts(tenant: Any) -> tuple[int, ...]:
    return (
        Order.objects.for_tenant(tenant).count(),
        SalesOrder.objects.for_tenant(tenant).count(),
        SalesOrderLine.objects.for_tenant(tenant).count(),
        OrderEvent.objects.for_tenant(tenant).count(),
    )


def sync(tenant: Any, channel: Channel) -> SyncRun:
    run = channel_sync_start(tenant=tenant, channel_id=channel.pk, actor=None)
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda seconds: None)
    assert done is not None
    return done


@pytest.fixture
def seller(transactional_db: Any, settings: Any, monkeypatch: Any) -> Any:
    from tests.factories import TenantFactory

    settings.ROOT_URLCONF = SANDBOX_URLS
    tenant: Any = TenantFactory(slug="sandbox-seller", base_currency="EUR")
    for sku in SKUS:
        ProductFactory(tenant=tenant, sku=sku)
    FxRate.objects.create(
        tenant=tenant,
        date=datetime(2024, 1, 1, tzinfo=UTC).date(),
        from_currency="USD",
        to_currency="EUR",
        rate=Decimal("0.92"),
    )
    # small pages, so that every connector pages through the sandbox's paging
    for connector in (AmazonConnector, EbayConnector, AliExpressConnector, ShopifyConnector):
        monkeypatch.setattr(connector, "page_size", 4)
    return tenant


def test_seeded_channels_sync_from_the_sandbox_and_a_resync_creates_nothing(
    seller: Any, live_server: Any, monkeypatch: Any
) -> None:
    # given the sandbox standing still two hours ago, its accounts opened five hours ago
    real_now = timezone.now().replace(microsecond=0)
    opened, first_clock = real_now - timedelta(hours=5), real_now - timedelta(hours=2)
    monkeypatch.setattr(sandbox, "now", lambda: first_clock)
    # when the demo channels are seeded (twice: idempotent) and each syncs
    created = marketplace_channels_seed(
        tenant=seller, base_url=f"{live_server.url}/sandbox/", opened=opened
    )
    again = marketplace_channels_seed(
        tenant=seller, base_url=f"{live_server.url}/sandbox/", opened=opened
    )
    assert [c.kind for c in created] == ["amazon", "ebay", "aliexpress", "shopify"]
    assert again == []
    runs = {c.code: sync(seller, c) for c in created}
    # then every channel imported exactly the orders open at the sandbox, over several pages
    for code, run in runs.items():
        expected = expected_open(opened, first_clock, OFFSETS[code])
        assert (run.status, run.errors, run.created) == ("done", 0, expected), run.error_detail
        assert run.pages >= 2
    orders = SalesOrder.objects.for_tenant(seller).select_related("order", "channel")
    assert {s.order.status for s in orders} == {OrderStatus.OPEN}
    assert {line.sku for line in SalesOrderLine.objects.for_tenant(seller)} <= set(SKUS)
    assert {s.currency for s in orders if s.channel.code == "ALIEXPRESS"} == {"USD"}
    before = counts(seller)

    # when every channel syncs again over the same history
    for channel in created:
        Channel.objects.for_tenant(seller).filter(pk=channel.pk).update(
            sync_overlap_seconds=8 * 3600
        )
    resync = {c.code: sync(seller, c) for c in created}
    # then nothing is created, updated or written
    for run in resync.values():
        assert (run.status, run.created, run.updated, run.errors) == ("done", 0, 0, 0)
    assert counts(seller) == before

    # when time passes at the sandbox and the channels sync once more
    later = real_now - timedelta(minutes=10)
    monkeypatch.setattr(sandbox, "now", lambda: later)
    third = {c.code: sync(seller, c) for c in created}
    # then the new orders are imported once and cancellations apply
    for code, run in third.items():
        assert run.status == "done"
        total = SalesOrder.objects.for_tenant(seller).filter(channel__code=code).count()
        assert total == runs[code].created + run.created
        assert run.created > 0
    canceled = Order.objects.for_tenant(seller).filter(status=OrderStatus.CANCELED).count()
    assert canceled == sum(run.updated for run in third.values())


def test_sandbox_refuses_requests_without_a_valid_account_token(seller: Any, client: Any) -> None:
    # given a token signed for another kind, and one tampered with
    opened = timezone.now() - timedelta(hours=1)
    foreign = sandbox.account_token("ebay", seller.slug, opened)
    genuine = sandbox.account_token("amazon", seller.slug, opened)
    forged = genuine[:-1] + ("1" if genuine[-1] == "0" else "0")
    assert forged != genuine
    # when they call the sandbox, then each marketplace answers its own refusal
    for token in (foreign, forged, "nonsense"):
        answer = client.get(
            "/sandbox/amazon/orders/v0/orders",
            {"MarketplaceIds": sandbox.AMAZON_MARKETPLACE_ID},
            headers={"x-amz-access-token": f"Atza|{token}"},
        )
        assert answer.status_code == 403
    shopify = client.get(
        f"/sandbox/shopify/{sandbox.SHOPIFY_API}/orders.json",
        headers={"x-shopify-access-token": f"shpat_{forged}"},
    )
    assert shopify.status_code == 401
    token = client.post(
        "/sandbox/amazon/auth/o2/token",
        {"grant_type": "refresh_token", "refresh_token": f"Atzr|{forged}", "client_id": "x"},
    )
    assert (token.status_code, token.json()["error"]) == (400, "invalid_grant")


def test_sandbox_answers_the_documented_amazon_order_shape(seller: Any, client: Any) -> None:
    # given an account opened an hour ago
    opened = timezone.now() - timedelta(hours=1)
    token = sandbox.account_token("amazon", seller.slug, opened)
    # when its orders are listed
    answer = client.get(
        "/sandbox/amazon/orders/v0/orders",
        {
            "MarketplaceIds": sandbox.AMAZON_MARKETPLACE_ID,
            "LastUpdatedAfter": (opened - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "LastUpdatedBefore": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        headers={"x-amz-access-token": f"Atza|{token}"},
    )
    # then the payload is SP-API Orders v0's
    assert answer.status_code == 200
    payload = answer.json()["payload"]
    assert set(payload) >= {"Orders", "LastUpdatedBefore"}
    assert len(payload["Orders"]) in (5, 6)
    order = payload["Orders"][0]
    assert set(order) >= {
        "AmazonOrderId",
        "PurchaseDate",
        "LastUpdateDate",
        "OrderStatus",
        "OrderTotal",
        "MarketplaceId",
        "ShippingAddress",
    }
    assert order["OrderStatus"] in ("Pending", "Unshipped", "Canceled")
    items = client.get(
        f"/sandbox/amazon/orders/v0/orders/{order['AmazonOrderId']}/orderItems",
        headers={"x-amz-access-token": f"Atza|{token}"},
    ).json()["payload"]["OrderItems"]
    assert {i["SellerSKU"] for i in items} <= set(SKUS)
    assert all(set(i) >= {"OrderItemId", "QuantityOrdered", "ItemPrice"} for i in items)


def _site_urls() -> Any:
    spec = importlib.util.find_spec("oms_site.urls")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("flag", [True, False])
def test_sandbox_is_mounted_only_when_the_setting_is_on(settings: Any, flag: bool) -> None:
    settings.OMS_SANDBOX_MARKETPLACES = flag
    routes = [str(p.pattern) for p in _site_urls().urlpatterns]
    assert ("sandbox/" in routes) is flag
