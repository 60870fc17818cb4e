"""The admin login is rate-limited per username and client address (django-axes), and the
admin and Swagger UI pages carry a Content-Security-Policy (django-csp) they work with."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.conftest import PASSWORD

LOGIN = "/admin/login/"


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("root@example.com", is_staff=True, is_superuser=True)


def _admin_login(client: Client, password: str, *, ip: str = "203.0.113.7") -> Any:
    return client.post(LOGIN, {"username": "root@example.com", "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def _signed_in(client: Client) -> bool:
    return bool(client.get("/admin/").status_code == 200)


def test_the_right_password_signs_in_to_the_admin(staff: User) -> None:
    client = Client()

    response = _admin_login(client, PASSWORD)

    assert response.status_code == 302
    assert _signed_in(client)


def test_repeated_wrong_passwords_lock_the_admin_login_even_for_the_right_one(staff: User) -> None:
    # given: as many wrong passwords as allowed, from one address
    limit = django_settings.AXES_FAILURE_LIMIT
    client = Client()
    statuses = [_admin_login(client, f"wrong-{attempt}").status_code for attempt in range(limit)]

    # when: the right password comes next, from the same address
    locked = _admin_login(client, PASSWORD)

    # then: refused, and not signed in
    assert limit == 5
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert locked.status_code == 429
    assert not _signed_in(client)


def test_the_lockout_is_per_username_and_address(staff: User) -> None:
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        _admin_login(Client(), f"wrong-{attempt}", ip="203.0.113.7")

    # the same staff member from another address is not locked out by the attacker
    other = Client()
    assert _admin_login(other, PASSWORD, ip="198.51.100.4").status_code == 302
    assert _signed_in(other)


def test_the_lockout_ends_after_the_cool_off(staff: User) -> None:
    # given: a locked-out pair
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        _admin_login(Client(), f"wrong-{attempt}")
    assert _admin_login(Client(), PASSWORD).status_code == 429

    # when: the cool-off has passed (the attempts are that old)
    cool_off: timedelta = django_settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=15)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))

    # then: the right password works again
    client = Client()
    assert _admin_login(client, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_behind_the_proxy_the_lockout_is_per_client_not_per_proxy(staff: User, settings: Any) -> None:
    # given: one trusted proxy that names the client in X-Forwarded-For
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN,
            {"username": "root@example.com", "password": f"wrong-{attempt}"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )

    # then: the attacker's address is locked, the proxy's other clients are not
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    other = Client()
    response = other.post(
        LOGIN,
        {"username": "root@example.com", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert response.status_code == 302


def test_the_api_token_endpoint_keeps_working_and_keeps_its_own_throttle(staff: User, anon: Any) -> None:
    # given: the admin login locked out for this staff member and address
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        _admin_login(Client(), f"wrong-{attempt}")
    assert _admin_login(Client(), PASSWORD).status_code == 429

    # when: the same person signs in to the API
    response = anon.post(
        "/api/v1/auth/token",
        {"email": "root@example.com", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )

    # then: the API is not behind the admin's lockout; its throttle is still in place
    assert response.status_code == 200
    assert "access" in response.json()
    assert "auth" in django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


# --- Content-Security-Policy -----------------------------------------------------------


def _policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.parametrize("path", [LOGIN, "/api/docs/"])
def test_admin_and_swagger_ui_carry_a_content_security_policy(path: str, db: None) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


@pytest.mark.parametrize("path", [LOGIN, "/api/docs/"])
def test_every_script_and_stylesheet_of_the_page_is_one_the_policy_allows(path: str, db: None) -> None:
    # given: script-src 'self', so no inline script may run and nothing from elsewhere loads
    page = Client().get(path).content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)

    assert scripts, "the page has scripts"
    for attributes, body in scripts:
        if 'type="application/json"' in attributes:
            continue  # data, not code
        assert "src=" in attributes, f"an inline script the policy would block: {body[:80]!r}"
        assert not body.strip(), f"an inline script the policy would block: {body[:80]!r}"
    assert all(source.startswith(("/", "?", "#")) for source in sources), sources


def test_swagger_uis_start_up_script_is_served_from_the_same_origin(db: None) -> None:
    page = Client().get("/api/docs/").content.decode()
    script_urls = [url.replace("&amp;", "&") for url in re.findall(r'<script src="([^"]+)"', page)]
    startup = [url for url in script_urls if "script" in url.split("?", 1)[-1]]

    assert len(startup) == 1
    response = Client().get(startup[0] if startup[0].startswith("/") else f"/api/docs/{startup[0]}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content
    assert b"/api/schema/" in response.content


def test_a_sign_in_without_a_client_address_is_recorded_without_one(staff: User) -> None:
    # force_login signs in through a bare HttpRequest, with no REMOTE_ADDR; PostgreSQL's
    # address column refuses a made-up value such as "None"
    client = Client()

    client.force_login(staff)

    assert _signed_in(client)
    assert list(AccessLog.objects.values_list("ip_address", flat=True)) == [None]
