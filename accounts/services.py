"""Account writes: registration, token rotation, logout and deleting an account."""

from __future__ import annotations

import contextlib
import logging

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User
from accounts.selectors import token_user_get
from core.errors import ConflictError, NotFoundError, UnprocessableError
from onboarding.services import onboarding_erase

logger = logging.getLogger(__name__)


def user_register(*, email: str, password: str) -> User:
    """Create a user after Django's password validators approve the password.

    A taken email (compared case-insensitively) is a 409 ``email_taken``.
    """
    email = User.objects.normalize_email(email).lower()
    candidate = User(email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise UnprocessableError("The password is not acceptable.", errors={"password": list(exc.messages)}) from exc
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError("An account with this email already exists.", code="email_taken")
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ConflictError("An account with this email already exists.", code="email_taken") from exc


def user_logout(*, refresh: str) -> None:
    """Blacklist a refresh token so it can never be used again."""
    try:
        RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    except TokenError as exc:
        raise UnprocessableError("The refresh token is invalid or expired.", errors={"refresh": [str(exc)]}) from exc


@transaction.atomic
def token_refresh(*, refresh: str) -> dict[str, str]:
    """A new access token and a new refresh token; the refresh token sent is spent, exactly once.

    simplejwt checks the blacklist, then blacklists with ``get_or_create``, so parallel
    refreshes of one token all passed the check and all got new tokens. Here the token's
    outstanding row is locked (``SELECT ... FOR UPDATE``) and the blacklist row created
    under the lock; its unique constraint makes the insert single-winner on any database.
    Every other request with the same token gets ``TokenError`` (401 ``token_not_valid``).
    """
    token = RefreshToken(refresh)  # type: ignore[arg-type]  # checks signature, expiry, type, blacklist
    user = token_user_get(token=token)
    outstanding, _created = OutstandingToken.objects.select_for_update().get_or_create(
        jti=token[api_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": refresh,
            "created_at": token.current_time,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    _blacklisted, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not spent_now:
        raise TokenError(_("Token is blacklisted"))
    access = str(token.access_token)
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    return {"access": access, "refresh": str(token)}


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Erase an account and everything stored about it (GDPR: erasure on request; also the admin's delete).

    The onboarding goes as ``DELETE onboarding`` erases it (answers, agent memory, history,
    turn lock, idempotency records, cached LLM replies), then the user's refresh tokens
    (outstanding and blacklisted: simplejwt keeps them, with the user set to NULL, otherwise)
    and the user. Access tokens die with the user: authentication looks the user up.
    """
    with contextlib.suppress(NotFoundError):  # never started, or already erased
        onboarding_erase(user=user)
    OutstandingToken.objects.filter(user=user).delete()
    user_id = user.pk
    user.delete()
    logger.info("Account of user %s was deleted", user_id)


def user_delete_confirmed(*, user: User, password: str) -> None:
    """``DELETE auth/account``: the user's own request, confirmed with their password (a token alone may be stolen)."""
    if not user.check_password(password):
        raise UnprocessableError(
            "The password is not correct.", code="wrong_password", errors={"password": ["The password is not correct."]}
        )
    user_delete(user=user)
