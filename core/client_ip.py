"""The client's address, the same way for every per-client limit."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest | Request) -> str | None:
    """``REMOTE_ADDR``, or behind ``NUM_PROXIES`` trusted proxies the address they saw.

    DRF's throttles decide this way; django-axes (admin login lockouts) uses this function
    so that behind the proxy it locks out the client, not the proxy. axes passes the admin's
    HttpRequest, or DRF's Request when the API's token endpoint authenticates.

    None when the request has no address at all (a test client's ``force_login``), as axes'
    own fallback answers: the database's address column refuses anything else.
    """
    drf_request = request if isinstance(request, Request) else Request(request)
    address = BaseThrottle().get_ident(drf_request)
    return str(address) if address else None
