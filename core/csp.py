"""django-csp's middleware, with the usual policy built once instead of on every response."""

from __future__ import annotations

import http.client
from functools import lru_cache

from csp import middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# What a view sets (django-csp's decorators) to give its response a policy of its own.
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_DEBUG_PAGES = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


@lru_cache(maxsize=8)
def _policies(policy_setting: str, report_only_setting: str) -> tuple[str, str]:
    # Keyed by the settings' text: a changed setting (override_settings) builds anew.
    return build_policy(), build_policy(report_only=True)


class CSPMiddleware(middleware.CSPMiddleware):
    """django-csp's ``CSPMiddleware``; a response that keeps the configured policy reuses the headers built for it.

    django-csp builds both headers from the settings on every response, copying each directive on the way
    (a tenth of the Python of a chat message). Unless the view gave its response a policy of its own
    (``@csp_update`` and the like) or the page used a nonce, the headers only depend on the settings: they are
    built once per value of ``CONTENT_SECURITY_POLICY`` and ``CONTENT_SECURITY_POLICY_REPORT_ONLY`` and set
    under django-csp's own conditions. Any other response goes through django-csp unchanged.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in _PER_RESPONSE):
            return super().process_response(request, response)
        if response.status_code in _DEBUG_PAGES and settings.DEBUG:  # Django's debug pages: as django-csp
            return response
        policy_setting = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only_setting = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        policy, report_only = _policies(repr(policy_setting), repr(report_only_setting))
        for header, value, exempt, setting in (
            (HEADER, policy, "_csp_exempt", policy_setting),
            (HEADER_REPORT_ONLY, report_only, "_csp_exempt_ro", report_only_setting),
        ):
            prefixes = tuple((setting or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            exempted = getattr(response, exempt, False) is not False or request.path_info.startswith(prefixes)
            if value and header not in response and not exempted:
                response[header] = value
        # As django-csp: the header is written, so a nonce asked for from now on could not be in it.
        request.csp_nonce = middleware.CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
