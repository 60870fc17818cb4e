"""With the agents app left out (``--ds=tests.settings_no_agents``): no chat routes, no chat records.

These run in ``make test``'s second pytest run; with the agents app installed they are skipped.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(apps.is_installed("agents"), reason="only without the agents app (tests.settings_no_agents)"),
]


@pytest.fixture
def api(user: User) -> APIClient:
    client = client_for(user)
    assert client.post("/api/v1/onboarding/start").status_code == 201
    return client


def test_the_chat_is_not_routed(api: APIClient) -> None:
    assert api.post("/api/v1/onboarding/chat", {"message": "hi"}, format="json").status_code == 404
    assert api.get("/api/v1/onboarding/current-agent").status_code == 404


def test_the_export_has_no_chat_records_and_erase_works(api: APIClient) -> None:
    export = api.get("/api/v1/onboarding/export").json()

    assert "idempotency_records" not in export
    assert export["onboarding"]["current_step"] == 1
    assert api.delete("/api/v1/onboarding").status_code == 204
    assert api.get("/api/v1/onboarding/state").status_code == 404
