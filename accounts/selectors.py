"""Account reads: who a token belongs to."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import Token, UntypedToken

from accounts.authentication import token_user_id
from accounts.models import User

NO_ACTIVE_ACCOUNT = _("No active account found for the given token.")


def token_user_get(*, token: Token) -> User:
    """The active user a valid token names: ``TokenError`` when it names no id, 401 when no such active user."""
    user_id = token_user_id(token)
    if user_id is None:
        raise TokenError(_("Token contained no recognizable user identification"))
    user = User.objects.filter(pk=user_id).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed(NO_ACTIVE_ACCOUNT, code="no_active_account")
    return user


def token_verified_user_get(*, token: str) -> User:
    """``auth/token/verify``: the token's user, if the token (access or refresh) would be accepted now.

    Signature, expiry, the blacklist and the user (existing, active) are all checked, so
    verification never says yes to a token the API would refuse.
    """
    untyped = UntypedToken(token)  # type: ignore[arg-type]  # simplejwt types it as a Token
    if BlacklistedToken.objects.filter(token__jti=untyped.get(api_settings.JTI_CLAIM)).exists():
        raise TokenError(_("Token is blacklisted"))
    return token_user_get(token=untyped)
