"""Bearer JWT authentication whose tokens must name a user by an integer id."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

_LARGEST_ID = 2**63 - 1  # a BigAutoField; a larger number overflows SQLite's integers (a 500)


def token_user_id(token: Token) -> int | None:
    """The user id a token names (simplejwt writes it as a decimal string), or None when it names no id.

    A token is only ever signed by this service, but a claim that is not an id (``"abc"``,
    ``true``, a list) must be refused, not crash the user lookup or be read as user 1.
    """
    value: Any = token.get(api_settings.USER_ID_CLAIM)
    if isinstance(value, str) and value.isascii() and value.isdecimal():
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= _LARGEST_ID else None


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's authentication; a token whose user id is not an id is 401 ``token_not_valid``."""

    def get_user(self, validated_token: Token) -> Any:
        if token_user_id(validated_token) is None:
            raise InvalidToken("Token contained no recognizable user identification")
        return super().get_user(validated_token)


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt's authentication, for this subclass of it."""

    target_class = "accounts.authentication.JWTAuthentication"
