"""Account writes: registration and logout."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from shuren.errors import ConflictError, UnprocessableError


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
