"""A worker loads what its first requests need before it takes a connection (``shuren.warmup``).

Only a fresh process shows what a first request loads, so each case runs one: it imports ``shuren.wsgi``
as a gunicorn worker does, then starts an onboarding and sends a chat message through Django's test client
and prints the modules those two requests imported.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import run_django

_FIRST_REQUESTS = """
import json, os, sys
if os.environ.get("PROBE_FAKE_ANTHROPIC"):
    from devtools.fake_anthropic.server import FakeAnthropicServer
    fake = FakeAnthropicServer(record_requests=False).start()
    os.environ.update({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "probe-key", "ANTHROPIC_BASE_URL": fake.url})
import shuren.wsgi  # what a worker loads before gunicorn gives it a connection
import agents.llm
from agents.turn import prepare
from onboarding.steps import LAST_STEP
warmed = {
    "provider_built": agents.llm._provider is not None,
    "steps_prepared": [prepare._step_tool.cache_info().currsize, prepare._step_prompt.cache_info().currsize]
    == [LAST_STEP, LAST_STEP],
}
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken
call_command("migrate", verbosity=0)
user = get_user_model().objects.create_user(email="first@example.com", password="Unused-passw0rd!")
client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
loaded = set(sys.modules)
started = client.post("/api/v1/onboarding/start", content_type="application/json")
answered = client.post("/api/v1/onboarding/chat", {"message": "I'm a beginner"}, content_type="application/json")
print(json.dumps({
    **warmed,
    "statuses": [started.status_code, answered.status_code],
    "agent_type": answered.json().get("agent_type"),
    "imported": sorted(set(sys.modules) - loaded),
}))
"""


# The suite's Redis when it runs against one (CI's PostgreSQL pass), else the local default.
_REDIS_URL = os.environ.get("CACHE_URL", "") if os.environ.get("CACHE_URL", "").startswith("redis://") else ""
_REDIS_URL = _REDIS_URL or "redis://127.0.0.1:6379/14"


def _redis_listening() -> bool:
    address = urlsplit(_REDIS_URL)
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("provider", "cache"),
    [
        ("offline", "locmemcache://first"),
        ("anthropic", "locmemcache://first"),
        pytest.param(
            "anthropic",
            _REDIS_URL,
            marks=pytest.mark.skipif(not _redis_listening(), reason=f"needs Redis at {_REDIS_URL}"),
        ),
    ],
)
def test_a_worker_loads_before_its_first_request_everything_the_first_chat_would_load(
    tmp_path: Path, provider: str, cache: str
) -> None:
    """The LLM provider and the steps' tools are built with the application, and the first start and chat
    message import nothing (the views, the cache's and the middleware's modules were imported then too).
    Otherwise a fresh worker's first requests queue behind that work, and under load they come back together
    a cycle later."""
    # Given a fresh process with the service's settings
    env = {
        "PATH": os.environ["PATH"],
        "SHUREN_DEV_DEFAULTS": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'first.sqlite3'}",
        "CACHE_URL": cache,
        "CACHE_KEY_PREFIX": f"first-requests-{tmp_path.name}",
        **({"PROBE_FAKE_ANTHROPIC": "1"} if provider == "anthropic" else {"LLM_PROVIDER": "offline"}),
    }

    # When it loads shuren.wsgi as a worker does, then serves a start and a chat message
    probe = run_django(["-c", _FIRST_REQUESTS], env)

    # Then everything was ready before the first request, which loaded nothing more
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert result["provider_built"] is True
    assert result["steps_prepared"] is True
    assert result["statuses"] == [201, 200]
    assert result["agent_type"] == "FITNESS_ASSESSMENT"
    assert result["imported"] == []


def test_without_the_warm_up_the_first_chat_would_import_the_views(tmp_path: Path) -> None:
    """The probe above can fail: the same requests after ``django.setup()`` alone import the views, and nothing
    was built before them."""
    # Given a process that sets Django up without loading shuren.wsgi; when it serves the same requests
    probe = run_django(
        ["-c", _FIRST_REQUESTS.replace("import shuren.wsgi", "import django; django.setup()")],
        {
            "PATH": os.environ["PATH"],
            "SHUREN_DEV_DEFAULTS": "1",
            "LLM_PROVIDER": "offline",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cold.sqlite3'}",
        },
    )

    # Then the first requests imported the views, and found no provider and no step built
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert {"agents.views", "onboarding.views", "accounts.views"} <= set(result["imported"])
    assert (result["provider_built"], result["steps_prepared"]) == (False, False)
