"""A request id on every log line and every response (``X-Request-ID``).

Django logs two lines of its own after the middleware has finished with a request:
``django.request`` ("Not Found: ...", "Internal Server Error: ...", with the request in the record)
and the development server's ``django.server`` access line. The first finds the id on the request,
the second on the thread that just answered it.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
# A client-supplied id is echoed into logs, so only a short, plain token is accepted.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# The id of the request this thread answered last, for the development server's access line that follows it.
_answered = threading.local()


def request_id_get() -> str:
    """The id of the request being handled on this thread, or ``-`` outside a request."""
    return _request_id.get()


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the client (or makes one) and returns it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # for django.request's lines
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
            _answered.request_id = request_id
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request_id"):
            return True
        request_id = _request_id.get()
        if request_id == "-":
            request_id = getattr(getattr(record, "request", None), "request_id", None) or "-"
        if request_id == "-" and record.name == "django.server":
            # Taken once: a line the server logs for a request Django never saw keeps "-".
            request_id = _answered.__dict__.pop("request_id", "-")
        record.request_id = request_id
        return True
