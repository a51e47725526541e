from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import member


@pytest.mark.django_db
def test_token_for_valid_credentials_then_token_auth_works(tenant):
    # given a member with a password
    user = member(tenant, "viewer", username="alpha.viewer")
    client = APIClient()
    # when
    response = client.post(
        "/api/v1/auth/token/", {"username": "alpha.viewer", "password": "pw"}, format="json"
    )
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "alpha.viewer", "password": "wrong"}, "non_field_errors"),
        ({"username": "alpha.viewer"}, "password"),
        ({"password": "pw"}, "username"),
    ],
)
def test_token_refused_for_bad_credentials(tenant, body, field):
    member(tenant, "viewer", username="alpha.viewer")
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]
    assert Token.objects.count() == 0


@pytest.mark.django_db
def test_unauthenticated_request_is_401():
    response = APIClient().get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


@pytest.mark.django_db
def test_token_endpoint_is_throttled(tenant, settings):
    # given a throttle of 3 attempts per minute
    from rest_framework.throttling import ScopedRateThrottle

    member(tenant, "viewer", username="alpha.viewer")
    old = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {"auth": "3/min"}
    try:
        client = APIClient()
        codes = [
            client.post(
                "/api/v1/auth/token/",
                {"username": "alpha.viewer", "password": "bad"},
                format="json",
            ).status_code
            for _ in range(4)
        ]
        # then the fourth attempt is refused before the password is even checked
        assert codes == [400, 400, 400, 429]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = old
