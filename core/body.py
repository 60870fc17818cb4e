"""Request bodies Django would misread: chunked ones."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import error_body


class ChunkedBodyMiddleware:
    """Answers 411 ``length_required`` to a chunked request body.

    Django reads a body by its ``Content-Length``; without one it sees an empty body,
    so a chunked JSON message would get a misleading 422 "this field is required".
    Behind the proxy (deploy/nginx.conf) chunked bodies arrive with a Content-Length and
    never reach this; it is for gunicorn reached directly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            response = JsonResponse(
                error_body(
                    "Chunked request bodies are not accepted: send the body with a Content-Length.",
                    "length_required",
                ),
                status=411,
            )
            response["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)
