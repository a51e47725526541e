"""Login and token endpoints are throttled; secrets never leave the server.

- ``POST /api/v1/auth/token/`` answers 429 past its rate (``AUTH_THROTTLE_RATE``) for a client
  address, good credentials included, and never 5xx on malformed bodies.
- The admin login refuses further attempts (429) after ``ADMIN_LOGIN_MAX_FAILURES`` failed
  ones from one address or for one username (oms_site.admin_login).
- Marketplace credentials (``Channel.credentials``, the Shopify ``webhook_secret``) and API
  tokens appear in no API response, no admin page (list and change pages) and no log line,
  through reads, writes, a marketplace sync and signed and forged webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from commerce.models import Channel
from commerce.services.sync import sync_run_execute
from tests.hostile.conftest import PASSWORD, Demo, api_as, list_items


def _canary_credentials(channel: Channel) -> dict[str, str]:
    keys = ("access_token", "webhook_secret", "client_id", "client_secret", "refresh_token")
    return {key: f"CANARY{key.upper()}{channel.pk}x9Q" for key in keys}


@pytest.fixture
def canaries(demo: Demo, db: Any) -> dict[str, Any]:
    """Every globex channel holds canary credentials; returns channel ids and all secrets."""
    why = "hostile test: plant canary credentials"
    channels = list(Channel.objects.all_tenants(reason=why).filter(tenant__slug="globex-goods"))
    assert channels
    secrets: set[str] = set(demo.tokens.values())
    for channel in channels:
        channel.credentials = {**channel.credentials, **_canary_credentials(channel)}
        channel.save(update_fields=["credentials"])
        secrets |= set(_canary_credentials(channel).values())
    secrets |= set(Token.objects.values_list("key", flat=True))
    return {"channels": channels, "secrets": secrets}


def assert_no_secret(text: str, secrets: set[str]) -> None:
    leaked = sorted(secret for secret in secrets if secret in text)
    assert not leaked, leaked


@pytest.fixture
def auth_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "5/min"})


def test_token_endpoint_is_throttled_per_address(demo: Demo, db: Any, auth_rate: None) -> None:
    # given a client that has used up the rate with wrong passwords
    client = APIClient()
    bad = {"username": "fuzz.admin", "password": "wrong"}
    codes = [client.post("/api/v1/auth/token/", bad, format="json").status_code for _ in range(5)]
    # when it sends good credentials, then it is throttled all the same
    response = client.post(
        "/api/v1/auth/token/", {"username": "fuzz.admin", "password": PASSWORD}, format="json"
    )
    assert codes == [400] * 5
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response.headers
    # and another address is not
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    response = other.post(
        "/api/v1/auth/token/", {"username": "fuzz.admin", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"token": demo.token_for("fuzz.admin")}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'{"username": 1, "password": []}', b'{"username": "\\u0000"}', b"\xff"],
)
def test_token_endpoint_refuses_malformed_bodies_with_400(demo: Demo, db: Any, body: bytes):
    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "parse_error"}


def test_admin_login_is_throttled_after_failures(demo: Demo, db: Any, settings: Any) -> None:
    # given the admin login allows 3 failed attempts
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    client = Client()
    bad = {"username": "fuzz.admin", "password": "wrong", "next": "/admin/"}
    codes = [client.post("/admin/login/", bad).status_code for _ in range(3)]
    # when the right password comes next from the same address, then it is refused
    good = {"username": "fuzz.admin", "password": PASSWORD, "next": "/admin/"}
    refused = client.post("/admin/login/", good)
    assert codes == [200, 200, 200]  # the form again, with its error
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    # and the username is locked from another address too
    elsewhere = Client(REMOTE_ADDR="10.1.2.3").post("/admin/login/", good)
    assert elsewhere.status_code == 429
    # while another user from another address logs in normally
    other = Client(REMOTE_ADDR="10.1.2.4")
    ok = other.post("/admin/login/", {**good, "username": "fuzz.seller"})
    assert ok.status_code == 302
    assert other.session["_auth_user_id"]


def test_channel_credentials_never_in_api_responses(demo: Demo, db: Any, canaries: Any) -> None:
    # given globex channels with canary credentials, read and written by every globex role
    texts = []
    for role in ("admin", "seller", "operations", "viewer", "compliance_officer"):
        client = api_as(demo, f"fuzz.{role}", "globex-goods")
        response = client.get("/api/v1/commerce/channels/")
        texts.append(response.content.decode())
        for item in list_items(response.json()):
            texts.append(client.get(f"/api/v1/commerce/channels/{item['id']}/").content.decode())
    channel = canaries["channels"][0]
    admin = api_as(demo, "fuzz.admin", "globex-goods")
    new = {"credentials": {"access_token": "CANARYNEWTOKENx9Q"}}
    patched = admin.patch(f"/api/v1/commerce/channels/{channel.pk}/", new, format="json")
    texts.append(patched.content.decode())
    texts.append(admin.get("/api/schema/").content.decode())
    # then no response carries a secret
    assert patched.status_code in (200, 400), patched.content
    for text in texts:
        assert_no_secret(text, canaries["secrets"] | {"CANARYNEWTOKENx9Q"})


def test_secrets_never_in_admin_pages(demo: Demo, db: Any, canaries: Any) -> None:
    # given the superuser and the globex admin in the back office
    pages = []
    for username in ("root", "globex.admin"):
        client = Client()
        client.force_login(_user(username))
        pages.append(client.get("/admin/commerce/channel/"))
        for channel in canaries["channels"]:
            pages.append(client.get(f"/admin/commerce/channel/{channel.pk}/change/"))
        pages.append(client.get("/admin/authtoken/tokenproxy/"))
        pages.append(client.get("/admin/commerce/syncrun/"))
    # then pages render and show no credential and no API token
    assert {page.status_code for page in pages} <= {200, 302, 403, 404}
    assert any(page.status_code == 200 for page in pages)
    for page in pages:
        assert_no_secret(page.content.decode(), canaries["secrets"])


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_secrets_never_in_logs_of_sync_and_webhooks(
    demo: Demo,
    db: Any,
    canaries: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # the marketplaces are unreachable here: retry at once instead of backing off
    defaults = sync_run_execute.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "sleep", lambda seconds: None)
    admin = api_as(demo, "fuzz.admin", "globex-goods")
    # when every channel syncs (its marketplace is unreachable here: the failure is logged)
    for channel in canaries["channels"]:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(f"/api/v1/commerce/channels/{channel.pk}/sync/", {})
        assert response.status_code < 500, response.content
        assert_no_secret(response.content.decode(), canaries["secrets"])
    # and Shopify webhooks arrive, forged and correctly signed
    shopify = [c for c in canaries["channels"] if c.kind == "shopify"]
    for channel in shopify:
        secret = _canary_credentials(channel)["webhook_secret"]
        body = json.dumps({"id": 1, "name": "#1001", "line_items": []}).encode()
        good = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        for signature in ("forged", good):
            response = APIClient().post(
                f"/api/v1/commerce/webhooks/shopify/{channel.pk}/",
                body,
                content_type="application/json",
                HTTP_X_SHOPIFY_HMAC_SHA256=signature,
                HTTP_X_SHOPIFY_TOPIC="orders/create",
                HTTP_X_SHOPIFY_WEBHOOK_ID=f"hostile-{signature[:8]}",
            )
            assert response.status_code < 500, response.content
            assert_no_secret(response.content.decode(), canaries["secrets"])
    # then no log record, message or arguments, names a secret
    assert caplog.records
    text = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}" for r in caplog.records
    )
    assert_no_secret(text, canaries["secrets"])
