"""System checks for ``manage.py check --deploy`` that Django's own do not make."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from shuren.keys import KEY_ADVICE, key_weakness


@register(Tags.security, deploy=True)
def signing_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A sample, placeholder, short or repetitive ``SECRET_KEY`` or JWT signing key is an error.

    The start-up refuses them only with DEBUG off; this check also catches them in a
    configuration that is still being prepared with DEBUG on.
    """
    keys = [
        ("shuren.E001", "SECRET_KEY", settings.SECRET_KEY),
        (
            "shuren.E002",
            "The JWT signing key (JWT_SIGNING_KEY, or SECRET_KEY when unset)",
            settings.SIMPLE_JWT["SIGNING_KEY"],
        ),
    ]
    errors: list[CheckMessage] = []
    for check_id, name, key in keys:
        weakness = key_weakness(key)
        if weakness is not None:
            errors.append(Error(f"{name} {weakness}: anything it signs can be forged.", hint=KEY_ADVICE, id=check_id))
    return errors
