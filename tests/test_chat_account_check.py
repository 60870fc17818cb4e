"""The chat endpoints check the account in the turn's first statement, not with a SELECT of the user.

``DeferredUserJWTAuthentication`` trusts the token for who the user is; the turn lock's statement refuses
an account deleted or deactivated since, and every refusal path answers the same 401 as the other endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt import authentication as simplejwt_authentication
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import authentication as accounts_authentication
from accounts.authentication import DeferredUserJWTAuthentication, TokenAccount
from accounts.models import User
from devtools.fake_anthropic import FakeAnthropicServer
from onboarding.models import OnboardingState
from tests.conftest import client_for, echo_responder

CHAT = "/api/v1/onboarding/chat"
STREAM = "/api/v1/onboarding/chat/stream"


def _gone(user: User, how: str) -> str:
    """Deactivate or delete ``user``; the error code their token then gets."""
    if how == "deactivated":
        user.is_active = False
        user.save()
        return "user_inactive"
    user.delete()
    return "user_not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("path", [CHAT, STREAM])
@pytest.mark.parametrize("how", ["deactivated", "deleted"])
def test_an_account_gone_after_its_onboarding_started_gets_401_at_its_next_message(
    claude: FakeAnthropicServer, started: APIClient, user: User, path: str, how: str
) -> None:
    # Given a user mid-onboarding whose account is then deactivated or deleted
    claude.set_default_responder(echo_responder)
    assert started.post(CHAT, {"message": "hello"}, format="json").status_code == 200
    calls_before = claude.request_count
    code = _gone(user, how)

    # When they send another message with the token they still hold
    response = started.post(path, {"message": "I'm a beginner"}, format="json")

    # Then it is refused like on every other endpoint, the LLM is not called and nothing is saved
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert claude.request_count == calls_before
    if how == "deactivated":
        state = OnboardingState.objects.get(user=user)
        assert [entry["content"] for entry in state.conversation_history if entry["role"] == "user"] == ["hello"]


BAD_REQUESTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "no message": ({}, {}),
    "bad step": ({"message": "hi", "step": "x"}, {}),
    "bad idempotency key": ({"message": "hi"}, {"HTTP_IDEMPOTENCY_KEY": "é"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["deactivated", "deleted"])
@pytest.mark.parametrize("bad", sorted(BAD_REQUESTS))
def test_a_gone_account_gets_401_before_its_request_is_judged(
    claude: FakeAnthropicServer, started: APIClient, user: User, how: str, bad: str
) -> None:
    body, headers = BAD_REQUESTS[bad]
    code = _gone(user, how)

    response = started.post(CHAT, body, format="json", **headers)

    assert response.status_code == 401
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_an_active_account_with_a_bad_request_still_gets_the_request_error(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    response = started.post(CHAT, {}, format="json")

    assert response.status_code in (400, 422)
    assert response.json()["code"] != "user_inactive"


@pytest.mark.django_db
def test_a_replayed_idempotent_message_of_a_deactivated_account_is_refused(
    claude: FakeAnthropicServer, started: APIClient, user: User
) -> None:
    # Given a message answered under an Idempotency-Key, and the account deactivated since
    claude.set_default_responder(echo_responder)
    first = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 200
    _gone(user, "deactivated")

    # When the same request is resent
    again = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    # Then the stored reply is not handed out
    assert again.status_code == 401
    assert again.json()["code"] == "user_inactive"


@pytest.mark.django_db
@pytest.mark.parametrize("path", [CHAT, STREAM])
def test_with_check_revoke_token_a_token_from_before_a_password_change_is_refused_on_chat(
    monkeypatch: pytest.MonkeyPatch, user: User, path: str
) -> None:
    # Given CHECK_REVOKE_TOKEN on (tokens carry a hash of the password) and a started onboarding. simplejwt's
    # modules hold the api_settings object they imported (overriding SIMPLE_JWT rebinds only the module global).
    for module in (accounts_authentication, simplejwt_authentication, simplejwt_tokens):
        monkeypatch.setattr(module.api_settings, "CHECK_REVOKE_TOKEN", True)
    client = client_for(user)
    assert client.post("/api/v1/onboarding/start").status_code == 201

    # When the password is changed and the old token is used on a chat endpoint
    user.set_password("a-new-password-123")
    user.save()
    response = client.post(path, {"message": "I'm a beginner"}, format="json")

    # Then the deferred authentication loaded the user and refused the token, as every endpoint does
    assert response.status_code == 401
    assert response.json()["code"] == "password_changed"


def test_a_token_account_shows_as_its_user_id_without_the_tokens_claims(user: User) -> None:
    # str(request.user) appears in Django's error reports and the browsable API (DEBUG): an id, not the claims
    token = RefreshToken.for_user(user).access_token
    account = DeferredUserJWTAuthentication().get_user(token)

    assert isinstance(account, TokenAccount)
    assert str(account) == f"user {user.pk}"
    assert str(token["jti"]) not in repr(account)
