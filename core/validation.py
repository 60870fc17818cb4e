"""DRF serializers that only validate, each built once: ``serializer_validate``.

A serializer deep-copies its declared fields the first time it is used: for the chat's
request body or a step's answer, more Python than the validation itself, on every message.
Validating (``run_validation``) keeps nothing on the serializer or on its fields, so one
instance per class, with its fields bound once, serves every request and thread.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings


@cache
def _validator(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    serializer = serializer_class()
    serializer.fields  # noqa: B018 - binds the fields now, once (a cached property)
    return serializer


def serializer_validate(serializer_class: type[serializers.Serializer], data: Any) -> tuple[Any, Any]:
    """``(validated_data, errors)`` as ``serializer_class(data=data)`` has them after ``is_valid()``.

    ``errors`` is empty when ``data`` is valid, as ``Serializer.errors`` is; ``validated_data`` is then empty.
    """
    try:
        return _validator(serializer_class).run_validation(data), {}
    except serializers.ValidationError as exc:
        detail = exc.detail
    # As Serializer.errors: a body that is null is "No data provided", not the field's "may not be null".
    if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
        detail = {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", code="null")]}
    return {}, detail
