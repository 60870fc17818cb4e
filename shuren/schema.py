"""Serializers that exist only to document shared shapes in the OpenAPI schema."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    detail = serializers.CharField()
    code = serializers.CharField()
    # A field named like Serializer.errors: the error shape is the contract.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
