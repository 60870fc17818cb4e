"""Register, token, refresh (rotating), verify, logout (blacklist)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

AUTH = "/api/v1/auth"


def login(client: APIClient, email: str = "alice@example.com", password: str = PASSWORD) -> Any:
    return client.post(f"{AUTH}/token", {"email": email, "password": password}, format="json")


def test_register_then_log_in_and_use_the_api(anon: APIClient, db: None) -> None:
    created = anon.post(f"{AUTH}/register", {"email": "New@Example.com", "password": PASSWORD}, format="json")
    tokens = login(anon, "new@example.com").json()
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert created.status_code == 201
    assert created.json()["email"] == "new@example.com"
    assert "password" not in created.json()
    assert anon.post("/api/v1/onboarding/start").status_code == 201


def test_duplicate_email_is_409_case_insensitively(anon: APIClient, user: Any) -> None:
    response = anon.post(f"{AUTH}/register", {"email": "ALICE@example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.com", "password": "123"}, "password"),
        ({"email": "x@example.com", "password": "password"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
    ],
)
def test_register_validation_errors_are_422(anon: APIClient, db: None, body: dict, field: str) -> None:
    response = anon.post(f"{AUTH}/register", body, format="json")

    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_wrong_password_is_401(anon: APIClient, user: Any) -> None:
    response = login(anon, password="wrong")

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_refresh_rotates_and_the_old_refresh_token_stops_working(anon: APIClient, user: Any) -> None:
    tokens = login(anon).json()

    first = anon.post(f"{AUTH}/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    replay = anon.post(f"{AUTH}/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert first.status_code == 200
    assert {"access", "refresh"} <= set(first.json())
    assert first.json()["refresh"] != tokens["refresh"]
    assert replay.status_code == 401


def test_verify_accepts_a_valid_token_and_rejects_garbage(anon: APIClient, user: Any) -> None:
    tokens = login(anon).json()

    assert anon.post(f"{AUTH}/token/verify", {"token": tokens["access"]}, format="json").status_code == 200
    assert anon.post(f"{AUTH}/token/verify", {"token": "garbage"}, format="json").status_code == 401


def test_logout_blacklists_the_refresh_token(anon: APIClient, user: Any) -> None:
    tokens = login(anon).json()

    out = anon.post(f"{AUTH}/logout", {"refresh": tokens["refresh"]}, format="json")
    refresh = anon.post(f"{AUTH}/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert out.status_code == 204
    assert refresh.status_code == 401


def test_logout_with_a_bad_token_is_422(anon: APIClient, db: None) -> None:
    response = anon.post(f"{AUTH}/logout", {"refresh": "nope"}, format="json")

    assert response.status_code == 422
    assert "refresh" in response.json()["errors"]


def test_access_token_lives_24_hours_by_default() -> None:
    from django.conf import settings

    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() == 24 * 3600


def _forged(user: Any, key: str, algorithm: str) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    claims = dict(AccessToken.for_user(user).payload)
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [("another-key-entirely-0123456789abcdef", "HS256"), ("", "none")],
    ids=["other-key", "alg-none"],
)
def test_forged_tokens_are_rejected(user: Any, key: str, algorithm: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_forged(user, key, algorithm)}")

    response = client.post("/api/v1/onboarding/start")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_deactivated_user_is_rejected(api: APIClient, user: Any) -> None:
    user.is_active = False
    user.save()

    assert api.post("/api/v1/onboarding/start").status_code == 401
