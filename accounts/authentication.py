"""Bearer JWT authentication whose tokens must name a user by an integer id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

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


@dataclass(frozen=True)
class TokenAccount:
    """The user a valid access token names, not loaded yet (``DeferredUserJWTAuthentication``).

    Whoever accepts one checks the account itself before it touches any data: the chat turn does it in
    the statement that takes the turn lock, and ``account_ensure_active`` everywhere else.
    """

    pk: int
    # Not in the repr: str(request.user) is shown by Django's error reports and the browsable API's navbar.
    token: Token = field(repr=False)
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @property
    def id(self) -> int:
        return self.pk

    def __str__(self) -> str:
        return f"user {self.pk}"


class DeferredUserJWTAuthentication(JWTAuthentication):
    """The same token checks as ``JWTAuthentication``, without the user's ``SELECT``: the user is a ``TokenAccount``.

    For the chat endpoints only, which run on every message: there the user's row is checked (it exists and
    is active) by the turn's first statement, so a deactivated account is still refused at its next message.
    With ``CHECK_REVOKE_TOKEN`` on the password hash has to be read anyway, so the user is loaded as usual.
    """

    def get_user(self, validated_token: Token) -> Any:
        user_id = token_user_id(validated_token)
        if user_id is None:
            raise InvalidToken("Token contained no recognizable user identification")
        if api_settings.CHECK_REVOKE_TOKEN or not api_settings.CHECK_USER_IS_ACTIVE:
            return super().get_user(validated_token)
        return TokenAccount(pk=user_id, token=validated_token)


def account_ensure_active(user: Any) -> Any:
    """The user as a model instance; for a ``TokenAccount``, loaded and checked as the token authentication does.

    Raises the same 401 (``user_not_found``, ``user_inactive``) as ``JWTAuthentication`` for an account deleted
    or deactivated since its token was issued.
    """
    if isinstance(user, TokenAccount):
        return JWTAuthentication().get_user(user.token)
    return user


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt's authentication, for this subclass of it."""

    target_class = "accounts.authentication.JWTAuthentication"


class DeferredUserJWTAuthenticationScheme(SimpleJWTScheme):
    """The chat endpoints require the same ``jwtAuth`` scheme; it is defined once, by ``JWTAuthenticationScheme``.

    Registering it a second time from this class would make drf-spectacular warn of two different
    components named ``jwtAuth`` (W001), and a client generator would see one scheme anyway.
    """

    target_class = "accounts.authentication.DeferredUserJWTAuthentication"
    name: Any = []  # no definition of its own (drf-spectacular zips names with definitions)

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[Any]]:
        return {SimpleJWTScheme.name: []}

    def get_security_definition(self, auto_schema: Any) -> list[Any]:
        return []
