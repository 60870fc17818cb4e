"""OpenAPI-driven fuzzing: every operation of ``/api/schema/``, in-process, authenticated.

schemathesis reads the schema the service publishes, generates requests for every
operation (valid and invalid bodies, parameters and headers), sends them through
the WSGI application with the access token of a user who has started onboarding,
and checks each response: never a 5xx, only documented status codes and content
types, and bodies that match the documented schema. The streaming chat is checked too:
schemathesis parses its Server-Sent Events and validates each one against the
per-event schema the operation documents.

This is the bounded run of ``make test``. ``devtools/scripts/fuzz_api.py`` (``make fuzz``)
runs the same test with many more examples and a random seed
(``SHUREN_FUZZ_MAX_EXAMPLES``, ``SHUREN_FUZZ_SEED``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.urls import URLResolver, get_resolver
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from onboarding.services import onboarding_start

MAX_EXAMPLES = int(os.environ.get("SHUREN_FUZZ_MAX_EXAMPLES", "25"))
# A fixed seed keeps the suite's run reproducible; ``make fuzz`` picks a fresh one each time.
SEED = int(os.environ.get("SHUREN_FUZZ_SEED", "20240607"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Loading the schema only renders it (no database access), so it can happen at collection.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    WSGIHandler(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        }
    ),
)


@pytest.fixture
def fuzz_user(make_user: Callable[..., User]) -> User:
    """The user every generated request is sent as."""
    return make_user("fuzz@example.com")


@pytest.fixture
def bearer(fuzz_user: User) -> dict[str, str]:
    """The user's ``Authorization`` header (sent with every request, public endpoints included)."""
    return {"Authorization": f"Bearer {RefreshToken.for_user(fuzz_user).access_token}"}


@schema.parametrize()
# The WSGI handler closes "old" connections at the start and end of every request, which
# would end pytest-django's wrapping transaction: the run uses a transactional database
# (each request commits, the tables are flushed afterwards).
@pytest.mark.django_db(transaction=True)
# The user fixture is shared by an operation's examples on purpose: each example re-starts
# the onboarding, so it runs against a started one whatever the previous example did.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_conforms_to_the_published_schema(
    case: schemathesis.Case, fuzz_user: User, bearer: dict[str, str]
) -> None:
    # given a user whose onboarding is started (a fuzzed DELETE may have erased it)
    onboarding_start(user=fuzz_user)

    # when the generated request is sent, then no 5xx and the response is as documented
    case.call_and_validate(headers=bearer, checks=CHECKS)


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield "/" + prefix + str(pattern.pattern), pattern.callback


def test_the_fuzzed_schema_covers_every_api_route() -> None:
    # given every DRF view the URLconf routes to (admin, metrics and the docs themselves aside);
    # a viewset's route answers the methods of its ``actions``, an APIView those it defines
    routed = {
        (method, path)
        for path, callback in _routes(get_resolver().url_patterns)
        if hasattr(callback, "cls") and not path.startswith(("/api/schema", "/api/docs"))
        for method in ("get", "post", "put", "patch", "delete")
        if method in getattr(callback, "actions", {}) or hasattr(callback.cls, method)
    }

    # when the published schema is read
    published = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    # then each of them is an operation the fuzz run exercises
    assert routed == {(method, path) for path, operations in published.items() for method in operations}
