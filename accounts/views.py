"""Auth endpoints under ``/api/v1/auth/``: register, token, refresh, verify, logout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views

from accounts.services import user_logout, user_register
from accounts.throttles import AuthRateThrottle
from shuren.schema import ErrorSerializer


class RegisterSerializer(serializers.Serializer):
    """Registration body."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class UserSerializer(serializers.Serializer):
    """A registered user."""

    id = serializers.IntegerField()
    email = serializers.EmailField()


class LogoutSerializer(serializers.Serializer):
    """Logout body: the refresh token to revoke."""

    refresh = serializers.CharField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's, but the refresh token of a deleted user is a 401, not a 500.

    simplejwt 5.5 looks the user up with ``objects.get`` and lets ``DoesNotExist`` escape
    (jazzband/djangorestframework-simplejwt#860).
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise AuthenticationFailed(self.error_messages["no_active_account"], code="no_active_account") from None


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
    """Check that a token is valid."""


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
