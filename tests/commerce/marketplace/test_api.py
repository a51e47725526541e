"""Channels, sync runs and the Shopify webhook over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from commerce.marketplaces.shopify import webhook_signature
from commerce.models import Channel, SalesOrder, SyncRun, WebhookEvent
from tests.commerce.factories import ChannelFactory
from tests.commerce.marketplace.conftest import ago, channel_for, market_of
from tests.commerce.marketplace.servers import FakeShopify
from tests.conftest import admin_client_for, client_for, member

SECRETS = ("amzn-client-secret-value", "Atzr|refresh-token-value")


@pytest.fixture
def amazon(tenant: Any) -> Any:
    fake = market_of("amazon")
    yield channel_for(tenant, fake)
    fake.stop()


def test_channel_list_and_detail_never_echo_credentials(
    tenant: Any, seller: Any, amazon: Any
) -> None:
    api = client_for(seller, "alpha")
    listing = api.get("/api/v1/commerce/channels/")
    detail = api.get(f"/api/v1/commerce/channels/{amazon.pk}/")
    assert listing.status_code == 200
    assert detail.status_code == 200
    assert "credentials" not in detail.json()
    assert detail.json()["credentials_set"] == ["client_id", "client_secret", "refresh_token"]
    for secret in SECRETS:
        assert secret not in listing.content.decode()
        assert secret not in detail.content.decode()


def test_channel_create_and_patch_store_credentials_write_only(tenant: Any) -> None:
    admin = member(tenant, "admin", username="alpha.admin")
    api = client_for(admin, "alpha")
    created = api.post(
        "/api/v1/commerce/channels/",
        {
            "code": "EBAY-US",
            "name": "eBay US",
            "kind": "ebay",
            "endpoint": "https://api.ebay.com",
            "credentials": {"client_id": "cid", "client_secret": "very-secret"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "very-secret" not in created.content.decode()
    channel_id = created.json()["id"]
    patched = api.patch(
        f"/api/v1/commerce/channels/{channel_id}/",
        {"credentials": {"client_secret": "rotated-secret", "refresh_token": "rt"}},
        format="json",
    )
    assert patched.status_code == 200
    assert "rotated-secret" not in patched.content.decode()
    stored = Channel.objects.for_tenant(tenant).get(pk=channel_id)
    assert stored.credentials == {
        "client_id": "cid",
        "client_secret": "rotated-secret",
        "refresh_token": "rt",
    }


def test_channel_create_with_bad_input_is_400_naming_the_field_and_stores_nothing(
    tenant: Any,
) -> None:
    admin = member(tenant, "admin", username="alpha.admin")
    api = client_for(admin, "alpha")
    for body, field in [
        ({"code": "X", "name": "X", "kind": "nope"}, "kind"),
        ({"code": "X", "name": "X", "kind": "ebay", "endpoint": "not a url"}, "endpoint"),
        ({"code": "X", "name": "X", "kind": "ebay", "timezone": "Mars/Base"}, "timezone"),
        ({"code": "X", "name": "X", "kind": "ebay", "credentials": {"a": 1}}, "credentials"),
        ({"code": 5, "name": "X", "kind": "ebay"}, "code"),
    ]:
        answer = api.post("/api/v1/commerce/channels/", body, format="json")
        assert answer.status_code == 400, (body, answer.content)
        assert field in json.dumps(answer.json()), answer.json()
    assert Channel.objects.for_tenant(tenant).count() == 0


def test_seller_cannot_create_channels(tenant: Any, seller: Any) -> None:
    answer = client_for(seller, "alpha").post(
        "/api/v1/commerce/channels/", {"code": "X", "name": "X", "kind": "web"}, format="json"
    )
    assert answer.status_code == 403
    assert Channel.objects.for_tenant(tenant).count() == 0


def test_post_sync_answers_202_with_the_run_id(tenant: Any, seller: Any, amazon: Any) -> None:
    api = client_for(seller, "alpha")
    answer = api.post(f"/api/v1/commerce/channels/{amazon.pk}/sync/")
    assert answer.status_code == 202
    run = SyncRun.objects.for_tenant(tenant).get()
    assert answer.json() == {"run_id": run.pk, "status": "queued"}
    runs = api.get("/api/v1/commerce/sync-runs/")
    assert [r["id"] for r in runs.json()["results"]] == [run.pk]
    detail = api.get(f"/api/v1/commerce/sync-runs/{run.pk}/")
    assert detail.json()["channel_code"] == amazon.code


def test_another_tenants_channel_and_run_answer_404(
    tenant: Any, other_tenant: Any, seller: Any
) -> None:
    theirs = ChannelFactory(tenant=other_tenant, kind="ebay", endpoint="http://127.0.0.1:9")
    run = SyncRun.objects.create(tenant=other_tenant, channel=theirs)
    api = client_for(seller, "alpha")
    assert api.get(f"/api/v1/commerce/channels/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/v1/commerce/channels/{theirs.pk}/sync/").status_code == 404
    assert api.get(f"/api/v1/commerce/sync-runs/{run.pk}/").status_code == 404
    assert SyncRun.objects.for_tenant(other_tenant).count() == 1


def test_sync_of_a_web_channel_is_400(tenant: Any, seller: Any) -> None:
    web = ChannelFactory(tenant=tenant, kind="web")
    answer = client_for(seller, "alpha").post(f"/api/v1/commerce/channels/{web.pk}/sync/")
    assert answer.status_code == 400
    assert SyncRun.objects.for_tenant(tenant).count() == 0


# --- Shopify webhooks ---------------------------------------------------------------------------


@pytest.fixture
def shopify(tenant: Any, products: Any) -> Any:
    fake = FakeShopify().start()
    yield channel_for(tenant, fake)
    fake.stop()


def deliver(channel: Any, body: bytes, *, webhook_id: str, signature: str | None = None) -> Any:
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    return client.post(
        f"/api/v1/commerce/webhooks/shopify/{channel.pk}/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
        HTTP_X_SHOPIFY_HMAC_SHA256=signature
        if signature is not None
        else webhook_signature(body, FakeShopify.WEBHOOK_SECRET),
    )


def order_body(external_id: str = "5001", *, minutes_ago: float = 10, state: str = "open") -> bytes:
    fake = FakeShopify.__new__(FakeShopify)
    raw = fake.order_json(
        external_id, updated=ago(minutes_ago), lines=[("SKU-A", 1, "10.00")], state=state
    )
    return json.dumps(raw).encode()


def test_webhook_with_a_good_signature_imports_the_order(tenant: Any, shopify: Any) -> None:
    answer = deliver(shopify, order_body(), webhook_id="wh-1")
    assert answer.status_code == 200
    assert answer.json()["created"] == 1
    sales = SalesOrder.objects.for_tenant(tenant).get()
    assert (sales.external_id, sales.order.status) == ("5001", "open")
    assert WebhookEvent.objects.for_tenant(tenant).get().event_id == "wh-1"


def test_webhook_with_a_bad_signature_is_401_and_stores_nothing(tenant: Any, shopify: Any) -> None:
    body = order_body()
    for signature in ("", "bm90IHRoZSBzaWduYXR1cmU=", webhook_signature(body, "wrong-secret")):
        answer = deliver(shopify, body, webhook_id="wh-1", signature=signature)
        assert answer.status_code == 401
    assert SalesOrder.objects.for_tenant(tenant).count() == 0
    assert WebhookEvent.objects.for_tenant(tenant).count() == 0


def test_webhook_for_an_unknown_channel_is_401(tenant: Any, shopify: Any) -> None:
    body = order_body()
    client = deliver.__globals__["deliver"]
    shopify.pk = 999999
    assert client(shopify, body, webhook_id="wh-1").status_code == 401
    assert WebhookEvent.objects.for_tenant(tenant).count() == 0


def test_duplicate_delivery_is_dropped_by_its_webhook_id(tenant: Any, shopify: Any) -> None:
    body = order_body()
    deliver(shopify, body, webhook_id="wh-1")
    again = deliver(shopify, order_body(minutes_ago=5, state="canceled"), webhook_id="wh-1")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    sales = SalesOrder.objects.for_tenant(tenant).get()
    assert sales.order.status == "open"
    assert WebhookEvent.objects.for_tenant(tenant).count() == 1


def test_orders_updated_webhook_applies_a_newer_cancellation_and_ignores_an_older_one(
    tenant: Any, shopify: Any
) -> None:
    deliver(shopify, order_body(minutes_ago=10), webhook_id="wh-1")
    older = deliver(shopify, order_body(minutes_ago=20, state="canceled"), webhook_id="wh-2")
    assert older.json()["skipped"] == 1
    assert SalesOrder.objects.for_tenant(tenant).get().order.status == "open"
    newer = deliver(shopify, order_body(minutes_ago=1, state="canceled"), webhook_id="wh-3")
    assert newer.json()["updated"] == 1
    assert SalesOrder.objects.for_tenant(tenant).get().order.status == "canceled"


def test_webhook_with_a_body_that_is_not_an_order_is_400_and_stores_nothing(
    tenant: Any, shopify: Any
) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"id": 1}'):
        answer = deliver(shopify, body, webhook_id="wh-x")
        assert answer.status_code == 400, body
    assert WebhookEvent.objects.for_tenant(tenant).count() == 0


def test_admin_pages_never_show_credential_values(tenant: Any, amazon: Any) -> None:
    admin = member(tenant, "admin", username="alpha.admin", is_superuser=False)
    client = admin_client_for(admin)
    session = client.session
    session["tenant_slug"] = "alpha"
    session.save()
    for url in (
        "/admin/commerce/channel/",
        f"/admin/commerce/channel/{amazon.pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        for secret in SECRETS:
            assert secret not in html
    change = client.get(f"/admin/commerce/channel/{amazon.pk}/change/").content.decode()
    assert "set" in change


CODE_WITH_COLON = {"code": ["Must not contain ':'."]}


def test_channel_code_with_a_colon_is_400_naming_code_and_stores_nothing(tenant: Any) -> None:
    admin = member(tenant, "admin", username="alpha.admin")
    api = client_for(admin, "alpha")

    answer = api.post(
        "/api/v1/commerce/channels/", {"code": "a:b", "name": "A", "kind": "web"}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["errors"] == CODE_WITH_COLON
    assert Channel.objects.for_tenant(tenant).count() == 0


def test_channel_code_changed_to_one_with_a_colon_is_400_and_changes_nothing(
    tenant: Any,
) -> None:
    admin = member(tenant, "admin", username="alpha.admin")
    channel = ChannelFactory(tenant=tenant, code="a", name="A")
    before = Channel.objects.for_tenant(tenant).values().get()

    answer = client_for(admin, "alpha").patch(
        f"/api/v1/commerce/channels/{channel.pk}/", {"code": "a:b"}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["errors"] == CODE_WITH_COLON
    assert Channel.objects.for_tenant(tenant).values().get() == before


def test_channel_stored_with_a_colon_in_its_code_can_still_be_renamed(tenant: Any) -> None:
    admin = member(tenant, "admin", username="alpha.admin")
    channel = ChannelFactory(tenant=tenant, code="a:b", name="A")

    answer = client_for(admin, "alpha").patch(
        f"/api/v1/commerce/channels/{channel.pk}/", {"code": "a:b", "name": "B"}, format="json"
    )

    assert answer.status_code == 200
    assert (answer.json()["code"], answer.json()["name"]) == ("a:b", "B")


def test_admin_channel_code_with_a_colon_is_a_form_error(tenant: Any) -> None:
    admin = member(tenant, "admin", username="alpha.admin", is_staff=True)
    client = admin_client_for(admin)
    session = client.session
    session["tenant_slug"] = "alpha"
    session.save()
    form = {"code": "a:b", "name": "A", "kind": "web", "timezone": "UTC"}
    form |= {"sync_overlap_seconds": "300", "active": "on"}

    response = client.post("/admin/commerce/channel/add/", form)
    renamed = client.post("/admin/commerce/channel/add/", {**form, "code": "a-b"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"code": ["Must not contain ':'."]}
    assert renamed.status_code == 302
    assert list(Channel.objects.for_tenant(tenant).values_list("code", flat=True)) == ["a-b"]
