"""Register, token, refresh (rotating, single-use), verify, logout (blacklist), deleting the account."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from agents.models import ChatIdempotencyRecord
from devtools.fake_anthropic import FakeAnthropicServer
from onboarding.models import OnboardingState
from tests.conftest import PASSWORD
from tests.test_chat_concurrency import in_threads

AUTH = "/api/v1/auth"
CHAT = "/api/v1/onboarding/chat"


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


# --- rotation is single-use, verification is as strict as the API ---------------------------------------


def _refresh_all(token: str, count: int) -> list[Any]:
    """``count`` threads POST the same refresh token at once (``in_threads`` releases them together)."""

    def refresh(_index: int) -> tuple[int, Any]:
        response = APIClient().post(f"{AUTH}/token/refresh", {"refresh": token}, format="json")
        return response.status_code, response.json()

    return in_threads(count, refresh)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_one_token_rotate_it_exactly_once(user: Any) -> None:
    # Given a refresh token (as a thief and its owner might both hold it), the views already imported
    refresh = login(APIClient()).json()["refresh"]
    APIClient().post(f"{AUTH}/token/refresh", {"refresh": "warm-up"}, format="json")

    # When it is sent 10 times at once
    results = _refresh_all(refresh, 10)

    # Then exactly one request gets new tokens; the others are 401 and the one new token works
    winners = [body for status, body in results if status == 200]
    assert sorted(status for status, _ in results) == [200] + [401] * 9
    assert all(body["code"] == "token_not_valid" for status, body in results if status == 401)
    again = APIClient().post(f"{AUTH}/token/refresh", {"refresh": winners[0]["refresh"]}, format="json")
    assert again.status_code == 200


def test_each_rotated_refresh_token_is_single_use_and_can_be_logged_out(anon: APIClient, user: Any) -> None:
    # Given a login and one rotation
    first = login(anon).json()["refresh"]
    second = anon.post(f"{AUTH}/token/refresh", {"refresh": first}, format="json").json()["refresh"]

    # When the rotated token is used once, then the old one again, then the newest is logged out
    third = anon.post(f"{AUTH}/token/refresh", {"refresh": second}, format="json")
    old_again = anon.post(f"{AUTH}/token/refresh", {"refresh": second}, format="json")
    logout = anon.post(f"{AUTH}/logout", {"refresh": third.json()["refresh"]}, format="json")
    after_logout = anon.post(f"{AUTH}/token/refresh", {"refresh": third.json()["refresh"]}, format="json")

    # Then each refresh token worked exactly once
    assert third.status_code == 200
    assert (old_again.status_code, old_again.json()["code"]) == (401, "token_not_valid")
    assert logout.status_code == 204
    assert after_logout.status_code == 401


def test_verifying_a_blacklisted_token_is_401(anon: APIClient, user: Any) -> None:
    refresh = login(anon).json()["refresh"]
    anon.post(f"{AUTH}/logout", {"refresh": refresh}, format="json")

    response = anon.post(f"{AUTH}/token/verify", {"token": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("how", ["deactivated", "deleted"])
@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_verifying_the_token_of_a_gone_user_is_401(anon: APIClient, user: Any, how: str, kind: str) -> None:
    token = login(anon).json()[kind]
    if how == "deactivated":
        user.is_active = False
        user.save()
    else:
        user.delete()

    response = anon.post(f"{AUTH}/token/verify", {"token": token}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


NOT_AN_ID = ["abc", "1.5", " 1", "-1", "", "9" * 30, 1.0, True, None, [1], {"id": 1}]


def _with_user_id(token: Any, user_id: Any) -> str:
    """``token`` re-signed with the service's real key, its ``user_id`` claim replaced."""
    claims = {**token.payload, "user_id": user_id}
    return jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


@pytest.mark.parametrize("user_id", NOT_AN_ID, ids=repr)
def test_a_validly_signed_token_whose_user_id_is_not_an_id_is_401(user: Any, user_id: Any) -> None:
    # Given tokens signed with the real key whose user id is not an id (True would be read as user 1)
    access = _with_user_id(AccessToken.for_user(user), user_id)
    refresh = _with_user_id(RefreshToken.for_user(user), user_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    # When they are used on a protected endpoint, refreshed and verified
    protected = client.get("/api/v1/onboarding/state")
    refreshed = APIClient().post(f"{AUTH}/token/refresh", {"refresh": refresh}, format="json")
    verified = APIClient().post(f"{AUTH}/token/verify", {"token": access}, format="json")

    # Then each is a 401, never a 500 nor another user's session
    assert [protected.status_code, refreshed.status_code, verified.status_code] == [401, 401, 401]
    assert protected.json()["code"] == "token_not_valid"


def test_a_token_naming_its_user_by_an_integer_id_still_works(user: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_with_user_id(AccessToken.for_user(user), user.pk)}")

    assert client.post("/api/v1/onboarding/start").status_code == 201


# --- deleting one's own account (GDPR: erasure on request) ------------------------------------------------


def test_deleting_the_account_erases_everything_and_every_token_of_it(
    claude: FakeAnthropicServer, anon: APIClient, user: Any
) -> None:
    # Given a user who logged in twice, chatted with Claude (a cached reply) under an Idempotency-Key
    tokens, other_login = login(anon).json(), login(APIClient()).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    client.post("/api/v1/onboarding/start")
    client.post(CHAT, {"message": "I'm a beginner"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    cached = cache.get(f"llm-reply-keys:{user.pk}")
    assert cached

    # When they delete their account, confirming with their password
    response = client.delete(f"{AUTH}/account", {"password": PASSWORD}, format="json")

    # Then nothing of theirs is left: user, onboarding, history, idempotency records, cached replies, tokens
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not OnboardingState.objects.exists()
    assert not ChatIdempotencyRecord.objects.exists()
    assert cache.get(f"llm-reply-keys:{user.pk}") is None
    assert all(cache.get(key) is None for key in cached)
    assert not OutstandingToken.objects.exists()
    assert client.get("/api/v1/onboarding/state").status_code == 401
    for refresh in (tokens["refresh"], other_login["refresh"]):
        assert anon.post(f"{AUTH}/token/refresh", {"refresh": refresh}, format="json").status_code == 401
    assert login(anon).status_code == 401


@pytest.mark.parametrize(("body", "code"), [({"password": "wrong"}, "wrong_password"), ({}, "validation_error")])
def test_deleting_the_account_needs_the_password(api: APIClient, user: Any, body: dict, code: str) -> None:
    api.post("/api/v1/onboarding/start")

    response = api.delete(f"{AUTH}/account", body, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert "password" in response.json()["errors"]
    assert User.objects.filter(pk=user.pk).exists()
    assert OnboardingState.objects.filter(user=user).exists()


def test_deleting_an_account_that_never_started_onboarding(api: APIClient, user: Any) -> None:
    response = api.delete(f"{AUTH}/account", {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_deleting_the_account_needs_a_token(anon: APIClient, user: Any) -> None:
    response = anon.delete(f"{AUTH}/account", {"password": PASSWORD}, format="json")

    assert response.status_code == 401
    assert User.objects.filter(pk=user.pk).exists()
