"""Serializers that exist only to document shared shapes in the OpenAPI schema."""

from typing import Any

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    detail = serializers.CharField()
    code = serializers.CharField()
    # A field named like Serializer.errors: the error shape is the contract.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def error_responses_document(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation that reads a body documents the 400
    malformed JSON gets (``parse_error``) and the 413 an oversized body gets (``request_too_large``)."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation["responses"]
                responses.setdefault("400", _error_response("Malformed JSON (`parse_error`)."))
                responses.setdefault("413", _error_response("Body over MAX_REQUEST_BODY_BYTES (`request_too_large`)."))
    return result
