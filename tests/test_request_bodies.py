"""Request bodies the application will not read get clear answers, and say that the connection closes.

The same behaviours against real servers (gunicorn directly and nginx in front) are in
tests/test_proxy.py, which ``make slowloris`` runs.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def test_a_chunked_body_is_a_411_not_a_misleading_422(anon: APIClient, db: None) -> None:
    # given: a chunked body, which Django would read as empty (no Content-Length)
    body = json.dumps({"email": "chunked@example.com", "password": PASSWORD})

    # when
    response = anon.post(
        "/api/v1/auth/register", body, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    # then
    assert response.status_code == 411
    assert response.json()["code"] == "length_required"
    assert response["Content-Length"] == str(len(response.content))
    assert not User.objects.filter(email="chunked@example.com").exists()


def _gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    monkeypatch.delenv("MAX_REQUEST_BODY_BYTES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_bodies", ROOT / "gunicorn.conf.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _request(*headers: tuple[str, str]) -> Any:
    return SimpleNamespace(method="POST", path="/api/v1/auth/register", headers=list(headers))


def _worker() -> Any:
    return SimpleNamespace(log=SimpleNamespace(debug=lambda *args: None))


@pytest.mark.parametrize(
    "headers",
    [
        [("CONTENT-LENGTH", "65537")],
        [("CONTENT-LENGTH", "200000"), ("CONNECTION", "keep-alive")],
        [("TRANSFER-ENCODING", "chunked")],
    ],
)
def test_gunicorn_answers_connection_close_to_a_body_the_app_will_not_read(
    monkeypatch: pytest.MonkeyPatch, headers: list[tuple[str, str]]
) -> None:
    conf = _gunicorn_conf(monkeypatch)
    request = _request(*headers)

    conf.pre_request(_worker(), request)

    assert [value for name, value in request.headers if name == "CONNECTION"] == ["close"]


@pytest.mark.parametrize("headers", [[("CONTENT-LENGTH", "65536")], [("CONTENT-LENGTH", "12")], []])
def test_gunicorn_keeps_alive_a_request_whose_body_the_app_reads(
    monkeypatch: pytest.MonkeyPatch, headers: list[tuple[str, str]]
) -> None:
    conf = _gunicorn_conf(monkeypatch)
    request = _request(*headers)

    conf.pre_request(_worker(), request)

    assert request.headers == headers


def test_gunicorns_body_cap_follows_the_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _gunicorn_conf(monkeypatch, MAX_REQUEST_BODY_BYTES="1000")
    request = _request(("CONTENT-LENGTH", "1001"))

    conf.pre_request(_worker(), request)

    assert ("CONNECTION", "close") in request.headers
