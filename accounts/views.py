"""Auth endpoints under ``/api/v1/auth/``: register, token, refresh, verify, logout, account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views

from accounts.selectors import token_verified_user_get
from accounts.services import token_refresh, user_delete_confirmed, user_logout, user_register
from accounts.throttles import AuthRateThrottle
from core.schema import ErrorSerializer


class RegisterSerializer(serializers.Serializer):
    """Registration body."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class UserSerializer(serializers.Serializer):
    """A registered user."""

    id = serializers.IntegerField()
    email = serializers.EmailField()


class AccountDeleteSerializer(serializers.Serializer):
    """Account deletion body: the account's password, as confirmation."""

    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class LogoutSerializer(serializers.Serializer):
    """Logout body: the refresh token to revoke."""

    refresh = serializers.CharField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's body; the rotation is ``token_refresh``'s (single-use under parallel requests).

    simplejwt 5.5's own lets parallel refreshes of one token all succeed, answers 500 for a
    deleted user (jazzband/djangorestframework-simplejwt#860) or a user id that is not an id,
    and refreshes a token without a user id at all.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        return token_refresh(refresh=attrs["refresh"])


class TokenVerifySerializer(jwt_serializers.TokenVerifySerializer):
    """simplejwt's body; a blacklisted token, or one of a deactivated or deleted user, is 401.

    simplejwt 5.5's own answers 422 (a validation error) for a blacklisted token and 200
    for the token of a user who can no longer use it.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token_verified_user_get(token=attrs["token"])
        return {}


# Bad credentials or tokens are 401, a body without the fields 422, too many attempts 429.
_TOKEN_ERRORS = {401: ErrorSerializer, 422: ErrorSerializer, 429: ErrorSerializer}
_TOKEN_PAIR = inline_serializer("TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()})


class _PublicAuthMixin:
    """No token needed (simplejwt's views already say so), rate-limited per client IP."""

    throttle_classes: Sequence[type[BaseThrottle]] = (AuthRateThrottle,)


class RegisterView(_PublicAuthMixin, APIView):
    """Create an account."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        request=RegisterSerializer,
        responses={201: UserSerializer, 409: ErrorSerializer, 422: ErrorSerializer, 429: ErrorSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = user_register(**body.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(operation_id="auth_token_obtain", tags=["auth"], responses={200: _TOKEN_PAIR, **_TOKEN_ERRORS})
)
class TokenObtainView(_PublicAuthMixin, jwt_views.TokenObtainPairView):
    """Exchange email and password for an access and a refresh token."""


@extend_schema_view(
    post=extend_schema(operation_id="auth_token_refresh", tags=["auth"], responses={200: _TOKEN_PAIR, **_TOKEN_ERRORS})
)
class TokenRefreshView(_PublicAuthMixin, jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new access token (and a new, rotated refresh token)."""

    serializer_class = TokenRefreshSerializer


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_verify",
        tags=["auth"],
        responses={200: OpenApiResponse(description="Valid"), **_TOKEN_ERRORS},
    )
)
class TokenVerifyView(_PublicAuthMixin, jwt_views.TokenVerifyView):
    """Check that a token is valid: signed, unexpired, not blacklisted, of an active user."""

    serializer_class = TokenVerifySerializer


class LogoutView(_PublicAuthMixin, APIView):
    """Revoke a refresh token (it is blacklisted)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="Logged out"), 422: ErrorSerializer, 429: ErrorSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = LogoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_logout(refresh=body.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountView(APIView):
    """The caller's account: ``DELETE`` erases it and everything stored about them."""

    throttle_classes = (AuthRateThrottle,)  # per client IP, like login: the password can be guessed here too

    @extend_schema(
        operation_id="auth_account_delete",
        tags=["auth"],
        description=(
            'Delete your account, confirmed with your password: JSON body `{"password": "..."}`. '
            "Erases the onboarding (answers, history, agent memory, idempotency records, cached replies), "
            "the refresh tokens and the user; every token of the account is refused from then on."
        ),
        responses={
            204: OpenApiResponse(description="Deleted"),
            401: ErrorSerializer,
            422: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def delete(self, request: Request) -> Response:
        body = AccountDeleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_delete_confirmed(user=request.user, password=body.validated_data["password"])  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
