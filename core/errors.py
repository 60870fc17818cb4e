"""One error shape for the whole API: ``{"detail": str, "code": str}`` (+ ``errors``).

Services raise the ``ServiceError`` subclasses below; they know nothing of HTTP
beyond a status code. The DRF exception handler here turns them, DRF's own
exceptions and anything unexpected into the shape the API documents (README, ``/api/docs/``):
validation -> 422 with per-field ``errors``, throttling -> 429 with
``Retry-After``, unexpected -> 500 with a generic message (traceback only in
the log).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

FieldErrors = dict[str, list[str]]
DATABASE_RETRY_AFTER_SECONDS = 5


class ServiceError(Exception):
    """A failure a client can act on, raised by services and mapped to an HTTP status."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "error"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: FieldErrors | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.code = code or self.code
        self.errors = errors
        self.headers = headers or {}
        super().__init__(self.detail)


class NotFoundError(ServiceError):
    """The thing asked for does not exist for this user."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class ConflictError(ServiceError):
    """The request is valid but the current state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class UnprocessableError(ServiceError):
    """The request body is well-formed but its values are not acceptable."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "validation_error"
    default_detail = "Invalid request."


class ServiceUnavailableError(ServiceError):
    """A dependency is down; nothing was saved and the request is safe to resend."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = "The service is temporarily unavailable. Please retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class FeatureDisabledError(ServiceError):
    """A feature the operator has switched off; no ``Retry-After``: it stays off until they switch it back on."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "feature_disabled"
    default_detail = "This feature is switched off."


class BadGatewayError(ServiceError):
    """A service we depend on refused our request: a fault on our side, not the client's; nothing was saved."""

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "bad_gateway"
    default_detail = "An upstream service refused the request. Nothing was saved."


def error_body(detail: str, code: str, errors: FieldErrors | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return body


def flatten_errors(data: Any, prefix: str = "") -> FieldErrors:
    """DRF's nested error structure -> ``{"field.sub": [messages]}``."""
    flat: FieldErrors = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(data, list) and data and all(isinstance(item, str) for item in data):
        flat[prefix or "non_field_errors"] = [str(item) for item in data]
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if value:
                flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "non_field_errors"] = [str(data)]
    return flat


def _logged_as_the_view(exc: Exception, context: dict[str, Any]) -> bool:
    """Log an unexpected failure as ``Error in <name>: ...`` (with the traceback) for a view that names itself.

    A view with ``error_log_name`` (the chat: ``chat_onboarding``) gets the deployment guide's line.
    """
    name = getattr(context.get("view"), "error_log_name", None)
    if not name:
        return False
    logger.error("Error in %s: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
    return True


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: every error leaves in the one shape."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.detail, exc.code, exc.errors), status=exc.status_code, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        return Response(
            error_body("Invalid request body.", "validation_error", errors),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.", "request_too_large"
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
        if not _logged_as_the_view(exc, context):
            logger.error("Database unavailable: %s", type(exc).__name__, exc_info=exc)
        return Response(
            error_body(
                "The database is temporarily unavailable. Nothing was saved; please retry.", "database_unavailable"
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        if not _logged_as_the_view(exc, context):
            logger.error("Unhandled error in %s", type(view).__name__ if view else "view", exc_info=exc)
        return Response(
            error_body("Internal server error.", "internal_error"), status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    if isinstance(exc, exceptions.APIException):
        detail: Any = exc.detail
        code: Any = exc.get_codes()
        if isinstance(detail, dict):  # simplejwt: {"detail": ..., "code": ..., "messages": [...]}
            code = detail.get("code", "error")
            detail = detail.get("detail", exc.default_detail)
        code = code if isinstance(code, str) else "error"
        if isinstance(exc, exceptions.Throttled):
            detail = "Too many requests. Please slow down."
            wait = getattr(exc, "wait", None)
            if wait is not None:
                response["Retry-After"] = str(max(1, math.ceil(wait)))
        response.data = error_body(str(detail), code)
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler404`` for URLs outside the API's views."""
    return JsonResponse(error_body("Not found.", "not_found"), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """``handler500``: nothing of the failure leaks to the client."""
    return JsonResponse(error_body("Internal server error.", "internal_error"), status=500)
