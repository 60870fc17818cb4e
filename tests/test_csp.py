"""The Content-Security-Policy middleware (``core.csp``) sets the headers django-csp's own would set."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from csp import middleware as django_csp
from csp.constants import NONCE, SELF
from csp.exceptions import CSPNonceError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings

from core.csp import CSPMiddleware

Build = Callable[[], HttpResponse]


def _served(middleware_class: type, path: str, build: Build, *, use_nonce: bool = False) -> tuple[dict[str, str], str]:
    """The response's headers through ``middleware_class``, and what asking for a nonce afterwards gives."""

    def view(request: HttpRequest) -> HttpResponse:
        if use_nonce:
            str(request.csp_nonce)  # type: ignore[attr-defined]  # a template that printed it
        return build()

    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    try:
        later = "a nonce" if str(request.csp_nonce) else "none"  # type: ignore[attr-defined]
    except CSPNonceError:
        later = "refused"
    # Each nonce is random: its value is left out.
    return {name: re.sub(r"'nonce-[^']+'", "'nonce-*'", value) for name, value in response.headers.items()}, later


def _with(**attributes: Any) -> Build:
    def build() -> HttpResponse:
        response = JsonResponse({"ok": True})
        for name, value in attributes.items():
            setattr(response, name, value)
        return response

    return build


CASES: list[tuple[str, Build, bool]] = [
    ("/api/v1/onboarding/chat", _with(), False),
    ("/admin/login/", lambda: HttpResponse("<html></html>"), True),
    ("/api/docs/", _with(_csp_update={"img-src": ["https://example.com"]}), False),
    ("/api/docs/", _with(_csp_replace={"script-src": [SELF, NONCE]}), True),
    ("/api/docs/", _with(_csp_config={"default-src": [SELF]}), False),
    ("/api/docs/", _with(_csp_update_ro={"img-src": ["https://example.com"]}), False),
    ("/api/v1/health", _with(_csp_exempt=True), False),
    ("/api/v1/health", lambda: HttpResponse(headers={"Content-Security-Policy": "default-src 'self'"}), False),
    ("/missing", lambda: HttpResponse(status=404), False),
    ("/broken", lambda: HttpResponse(status=500), False),
]


@pytest.mark.parametrize(("path", "build", "use_nonce"), CASES)
@pytest.mark.parametrize("debug", [False, True])
def test_each_response_gets_the_headers_django_csp_gives_it(
    path: str, build: Build, use_nonce: bool, debug: bool
) -> None:
    # When the same response goes through django-csp's middleware and through ours
    with override_settings(DEBUG=debug):
        theirs = _served(django_csp.CSPMiddleware, path, build, use_nonce=use_nonce)
        ours = _served(CSPMiddleware, path, build, use_nonce=use_nonce)

    # Then the headers are the same, and a nonce asked for afterwards is refused (or given) alike
    assert ours == theirs


def test_a_changed_setting_changes_the_headers_as_django_csp_does() -> None:
    # Given the headers of the configured policy (built once and kept)
    first = _served(CSPMiddleware, "/api/v1/health", _with())[0]
    policy = {"DIRECTIVES": {"default-src": [SELF], "report-uri": "/csp-report"}, "EXCLUDE_URL_PREFIXES": ["/api/docs"]}

    # When the settings change: another policy, a report-only one, an excluded prefix
    with override_settings(CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        changed = [
            _served(m, path, _with())[0]
            for m in (CSPMiddleware, django_csp.CSPMiddleware)
            for path in ("/api/v1/health", "/api/docs/")
        ]

    # Then ours follows, as django-csp does
    assert changed[:2] == changed[2:]
    assert changed[0]["Content-Security-Policy"] != first["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" in changed[0]
    assert "Content-Security-Policy" not in changed[1]
    assert _served(CSPMiddleware, "/api/v1/health", _with())[0] == first
