"""Start-up refuses unsafe production settings, and steps outside 1..9 are invalid everywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from agents.registry import agent_for_step
from onboarding.steps import step_get
from shuren.checks import signing_keys_check
from shuren.keys import DEV_SECRET_KEY, key_weakness
from tests.conftest import environ_without, run_django

ROOT = Path(__file__).resolve().parent.parent
# Made the way the error message says (secrets.token_urlsafe(50)); no test signs anything real with it.
STRONG_KEY = "k8Jd0-QmZ3rT_vW5yXb2NcE7hLpA9sGf4uIoKj1nMqRtSwUv6x"
OTHER_STRONG_KEY = "P3nR7tV1xZ5bD9fH2jL6nQ0sU4wY8aC-eG_iK3mO7qS1uW5yA"


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    base = environ_without("SHUREN_DEV_DEFAULTS", "SECRET_KEY", "DEBUG", "JWT_SIGNING_KEY")
    return run_django(["-c", "import django; django.setup()"], {**base, "LLM_PROVIDER": "offline", **env})


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _start(DEBUG="False")

    assert result.returncode != 0
    assert "SECRET_KEY is not configured" in result.stderr


def test_development_defaults_never_apply_with_debug_off() -> None:
    # given: SHUREN_DEV_DEFAULTS on, but DEBUG explicitly off and no SECRET_KEY
    # when
    result = _start(DEBUG="False", SHUREN_DEV_DEFAULTS="1")

    # then: refused, rather than signing tokens with the public development key
    assert result.returncode != 0
    assert "SECRET_KEY is not configured" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_development_defaults_still_start_a_development_server() -> None:
    result = run_django(
        ["-c", "from django.conf import settings as s; import django; django.setup(); print(s.DEBUG)"],
        {
            **environ_without("SECRET_KEY", "DEBUG", "JWT_SIGNING_KEY"),
            "SHUREN_DEV_DEFAULTS": "1",
            "LLM_PROVIDER": "offline",
        },
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("variable", "key", "reason"),
    [
        ("JWT_SIGNING_KEY", "change-me-too", "published sample or placeholder"),
        ("JWT_SIGNING_KEY", "x", "shorter than 32 characters"),
        ("JWT_SIGNING_KEY", "ab" * 32, "fewer than 10 distinct characters"),
        ("JWT_SIGNING_KEY", DEV_SECRET_KEY, "published sample or placeholder"),
        ("SECRET_KEY", "change-me-too", "published sample"),
        ("SECRET_KEY", "x" * 50, "fewer than 10 distinct characters"),
    ],
)
def test_production_refuses_a_weak_signing_key(variable: str, key: str, reason: str) -> None:
    # given: DEBUG off, everything else acceptable, one weak key
    env = {"SECRET_KEY": STRONG_KEY, "JWT_SIGNING_KEY": OTHER_STRONG_KEY, variable: key}
    if variable == "SECRET_KEY":
        env.pop("JWT_SIGNING_KEY")  # SECRET_KEY then signs the JWTs too

    # when
    result = _start(DEBUG="False", **env)

    # then: refused at start, naming the variable, the reason and how to make a good key
    assert result.returncode != 0
    assert f"{variable} " in result.stderr
    assert reason in result.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(50))"' in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "change-me",
        "CHANGE-ME-TOO",
        "changeme-please-0123456789abcdefghijkl",
        "django-insecure-0123456789abcdefghijklmno",
    ],
)
def test_published_samples_are_weak_whatever_their_length(key: str) -> None:
    assert key_weakness(key) == "is a published sample or placeholder"


@pytest.mark.parametrize(
    ("key", "weakness"),
    [
        ("Short-but-varied-key-0123", "is shorter than 32 characters"),
        ("0123456789" * 4, None),
        ("012345678" * 5, "has fewer than 10 distinct characters"),
        (STRONG_KEY, None),
    ],
)
def test_short_or_repetitive_keys_are_weak(key: str, weakness: str | None) -> None:
    assert key_weakness(key) == weakness


def test_production_accepts_generated_keys() -> None:
    result = _start(DEBUG="False", SECRET_KEY=STRONG_KEY, JWT_SIGNING_KEY=OTHER_STRONG_KEY)

    assert result.returncode == 0, result.stderr


def test_check_deploy_reports_weak_keys_even_with_debug_on() -> None:
    # given: a configuration still being prepared with DEBUG on, with the sample JWT key
    env = {
        **environ_without("SHUREN_DEV_DEFAULTS", "SECRET_KEY", "DEBUG", "JWT_SIGNING_KEY"),
        "LLM_PROVIDER": "offline",
        "DEBUG": "True",
        "SECRET_KEY": STRONG_KEY,
        "JWT_SIGNING_KEY": "change-me-too",
    }

    # when
    result = run_django(["manage.py", "check", "--deploy"], env)

    # then
    assert result.returncode != 0
    assert "shuren.E002" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr
    assert "shuren.E001" not in result.stderr


def test_the_deploy_check_names_each_weak_key(settings: Any) -> None:
    settings.SECRET_KEY = DEV_SECRET_KEY
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "x"}

    assert [error.id for error in signing_keys_check()] == ["shuren.E001", "shuren.E002"]

    settings.SECRET_KEY = STRONG_KEY
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": OTHER_STRONG_KEY}
    assert signing_keys_check() == []


def test_production_refuses_a_wildcard_allowed_hosts() -> None:
    result = _start(DEBUG="False", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="*")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must not contain '*'" in result.stderr


def test_an_unknown_llm_provider_is_refused() -> None:
    result = _start(DEBUG="False", SECRET_KEY=STRONG_KEY, LLM_PROVIDER="gpt")

    assert result.returncode != 0
    assert "LLM_PROVIDER must be 'anthropic' or 'offline'" in result.stderr


def test_a_negative_conversation_history_cap_is_refused() -> None:
    # 0 keeps no conversation; a negative cap is a typo, not "no limit"
    result = _start(DEBUG="False", SECRET_KEY=STRONG_KEY, CONVERSATION_HISTORY_MAX_ENTRIES="-1")

    assert result.returncode != 0
    assert "CONVERSATION_HISTORY_MAX_ENTRIES must be 0 or more, not -1" in result.stderr


def _start_provider(**env: str) -> subprocess.CompletedProcess[str]:
    """A start with the given LLM variables only (no inherited key or provider); prints the chosen provider."""
    base = environ_without("SHUREN_DEV_DEFAULTS", "SECRET_KEY", "DEBUG", "JWT_SIGNING_KEY", "ANTHROPIC_API_KEY")
    code = "from django.conf import settings; print(settings.LLM_PROVIDER)"  # the settings alone decide
    return run_django(["-c", code], {**base, "SECRET_KEY": STRONG_KEY, "LLM_PROVIDER": "", **env})


def test_production_without_a_provider_or_key_refuses_to_start_with_the_guides_message() -> None:
    result = _start_provider(DEBUG="False")

    assert result.returncode != 0
    assert "ValueError: ANTHROPIC_API_KEY is not configured" in result.stderr
    assert "LLM_PROVIDER=offline" in result.stderr  # and says how to choose the offline engine instead


def test_production_with_anthropic_and_no_key_refuses_to_start() -> None:
    result = _start_provider(DEBUG="False", LLM_PROVIDER="anthropic")

    assert result.returncode != 0
    assert "ValueError: ANTHROPIC_API_KEY is not configured" in result.stderr


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"LLM_PROVIDER": "offline"}, "offline"),
        ({"ANTHROPIC_API_KEY": "sk-ant-test-only"}, "anthropic"),
        ({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-test-only"}, "anthropic"),
    ],
)
def test_production_starts_with_an_explicit_provider(env: dict[str, str], provider: str) -> None:
    result = _start_provider(DEBUG="False", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == provider


def test_development_without_a_key_falls_back_to_offline_with_a_warning() -> None:
    # given: DEBUG on, no provider, no key
    base = environ_without("SHUREN_DEV_DEFAULTS", "DEBUG", "ANTHROPIC_API_KEY")
    env = {**base, "DEBUG": "True", "SECRET_KEY": STRONG_KEY, "LLM_PROVIDER": ""}

    # when: the apps start (their start-up checks run)
    result = run_django(["-c", "import django; django.setup()"], env)

    # then: it starts, saying why it serves the offline engine
    assert result.returncode == 0, result.stderr
    assert "WARNING" in result.stderr
    assert "ANTHROPIC_API_KEY is not set: using the offline LLM engine because DEBUG is on" in result.stderr


@pytest.mark.parametrize(
    ("database", "refused"),
    [
        ({"DB_POOL": "false", "CONN_MAX_AGE": "60"}, True),
        ({"DB_POOL": "false", "CONN_MAX_AGE": "0"}, False),
        ({}, False),  # the pool, the default
    ],
    ids=["persistent-connections", "a-connection-per-request", "pool"],
)
def test_under_gevent_persistent_connections_without_the_pool_are_refused(
    database: dict[str, str], refused: bool
) -> None:
    # given: the standard library patched by gevent first, as gunicorn's gevent worker does before Django loads
    env = environ_without("SHUREN_DEV_DEFAULTS", "DB_POOL", "CONN_MAX_AGE")
    env.update(DEBUG="False", SECRET_KEY=STRONG_KEY, LLM_PROVIDER="offline", **database)
    env["DATABASE_URL"] = "postgres://shuren@127.0.0.1:5432/shuren"  # nothing connects: the settings alone decide
    code = "from gevent import monkey; monkey.patch_all(); import django; django.setup()"

    # when: Django starts
    result = run_django(["-c", code], env)

    # then: a connection kept per greenlet (never reused, left open until PostgreSQL refuses more) stops it
    if refused:
        assert result.returncode != 0
        assert "GUNICORN_WORKER_CLASS=gevent needs DB_POOL=true (or CONN_MAX_AGE=0)" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


def test_persistent_connections_without_the_pool_still_start_on_threads() -> None:
    env = {"DB_POOL": "false", "CONN_MAX_AGE": "60", "DATABASE_URL": "postgres://shuren@127.0.0.1:5432/shuren"}
    result = _start(DEBUG="False", SECRET_KEY=STRONG_KEY, **env)

    assert result.returncode == 0, result.stderr


def test_production_starts_with_a_secret_and_explicit_hosts() -> None:
    assert _start(DEBUG="False", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="api.shuren.app").returncode == 0


@pytest.mark.parametrize("step", [0, 10, -1, True])
def test_steps_outside_one_to_nine_are_invalid(step: int) -> None:
    with pytest.raises(ValueError, match=f"Invalid onboarding step: {step}"):
        step_get(step)
    with pytest.raises(ValueError, match="Invalid onboarding step"):
        agent_for_step(step)


@pytest.mark.parametrize(("env_file", "version"), [("other.env", "9.9.9"), ("", "1.0.0")])
def test_the_settings_read_the_env_file_that_shuren_env_file_names(tmp_path: Path, env_file: str, version: str) -> None:
    # given: an env file elsewhere, named by SHUREN_ENV_FILE or not (blank: none, as the tests run)
    (tmp_path / "other.env").write_text("APP_VERSION=9.9.9\n")
    named = str(tmp_path / env_file) if env_file else ""

    # when
    result = run_django(
        ["-c", "from django.conf import settings; print(settings.VERSION)"],
        {**environ_without("APP_VERSION"), "SHUREN_ENV_FILE": named},
    )

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == version
