"""A fresh clone: the README's commands work verbatim after ``make run``, and gunicorn serves static files.

The clone is this checkout as ``git clone`` would give it (every file git tracks or would
add, edits included; nothing it ignores: no ``.env``, no database, no ``staticfiles/``),
with the virtualenv of this checkout linked in as ``.venv``. ``make run`` is done up to
the point where it would start serving (its commands from ``make -n run``). Then every
line of the README's ``bash`` blocks that runs ``manage.py`` from the checkout, ``make
superuser`` or ``cp .env.example .env`` runs as printed, in README order, with a bare
``PATH``: a README edit is covered without touching this file. Lines that need a
running server (``curl``, ``open``) or Docker are not run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.cluster import free_port
from shuren.static_storage import CollectedOrAppStaticFilesStorage
from tests.conftest import gunicorn_serving

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
STAMP = ROOT / ".venv" / ".installed-stamp"

_SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Commands a fresh clone runs without a server or Docker, after optional VAR=value assignments.
_RUNNABLE = re.compile(
    r"^(?:[A-Z][A-Z0-9_]*=\S+\s+)*"
    r"(?:(?:\.venv/bin/)?python3?\s+manage\.py\b|make\s+(?:superuser|migrate)\b|cp\s+\.env\.example\s+\.env\b)"
)
_NEEDS_A_SERVER_OR_DOCKER = re.compile(r"^(?:curl|open|docker|chat|B=|H=|TOKEN=)|\$B\b")
_SUPERUSER_EMAIL = re.compile(r"\bDJANGO_SUPERUSER_EMAIL=(\S+)")
# The clone's commands see no variable of this process: only what a new shell has.
_BARE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def readme_commands(text: str) -> list[str]:
    """The README's shell lines that a fresh clone runs with no server and no Docker, in order."""
    commands = []
    for block in _SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.strip()
            if not command or command.startswith("#") or _NEEDS_A_SERVER_OR_DOCKER.search(command):
                continue
            if _RUNNABLE.match(command):
                commands.append(command)
            else:
                assert "manage.py" not in command, f"a manage.py command this test does not know: {command!r}"
    return commands


def _run(command: str, cwd: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as a fresh clone, its virtualenv linked in (see the module docstring)."""
    if not STAMP.exists():
        pytest.skip("the virtualenv was not made by make (no .venv/.installed-stamp): make would reinstall it")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.decode()}")
    target = tmp_path_factory.mktemp("clone")
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and name != ".venv" and not source.is_symlink() and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    # The shared virtualenv is up to date: requirements older than its stamp, so make leaves it alone.
    installed = STAMP.stat().st_mtime - 1
    for requirements in target.glob("requirements*.txt"):
        os.utime(requirements, (installed, installed))
    return target


@pytest.fixture(scope="module")
def after_make_run(clone: Path) -> Path:
    """The clone after ``make run``, up to where it starts serving."""
    planned = _run("make -n run", clone, _BARE_ENV)
    assert planned.returncode == 0, planned.stderr
    steps = [line for line in planned.stdout.splitlines() if "runserver" not in line]
    assert steps, planned.stdout
    assert not any("pip install" in step for step in steps), "make would reinstall the shared virtualenv"
    for step in steps:
        result = _run(step, clone, _BARE_ENV)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
    return clone


def test_readme_lists_commands_that_need_no_server() -> None:
    # the test below would pass vacuously on a README without any
    commands = readme_commands(README.read_text())

    assert any("manage.py" in command for command in commands), commands
    assert any("make superuser" in command for command in commands), commands


@pytest.mark.slow
def test_every_readme_command_works_verbatim_on_a_fresh_clone_after_make_run(after_make_run: Path) -> None:
    # given: a fresh clone after `make run`, and the README's commands
    commands = readme_commands(README.read_text())

    # when: each runs as printed (an interactive one is answered "quit")
    for command in commands:
        result = _run(command, after_make_run, _BARE_ENV, stdin="quit\n")

        # then
        output = result.stdout + result.stderr
        assert result.returncode == 0, (command, output)
        assert "Traceback" not in output, (command, output)

    # and the superuser the README creates can log in to the admin
    for email in {match[1] for command in commands if (match := _SUPERUSER_EMAIL.search(command))}:
        check = (
            "from accounts.models import User; "
            f"print(User.objects.filter(email={email!r}, is_staff=True, is_superuser=True).exists())"
        )
        result = _run(f".venv/bin/python manage.py shell -c {shlex.quote(check)}", after_make_run, _BARE_ENV)
        assert result.stdout.strip().endswith("True"), result.stdout + result.stderr


@pytest.mark.slow
def test_every_manage_py_command_the_readme_names_exists(after_make_run: Path) -> None:
    # given: every `manage.py <command>` in the README, in code blocks or in the text
    named = set(re.findall(r"manage\.py ([a-z_]+)", README.read_text()))

    # when
    result = _run(".venv/bin/python manage.py help --commands", after_make_run, _BARE_ENV)

    # then
    assert result.returncode == 0, result.stderr
    assert named, "the README names no manage.py command"
    assert named <= set(result.stdout.split()), named - set(result.stdout.split())


@pytest.mark.slow
def test_the_development_defaults_of_make_run_never_apply_with_debug_off(after_make_run: Path) -> None:
    # given: the .env that `make run` wrote (development defaults on)
    assert (after_make_run / ".env").is_file()

    # when: a command runs with DEBUG off, as in production
    result = _run(".venv/bin/python manage.py check", after_make_run, {**_BARE_ENV, "DEBUG": "False"})

    # then: refused, rather than signing anything with a placeholder or the public development key
    assert result.returncode != 0
    assert "SECRET_KEY is still the .env.example placeholder" in result.stderr


# --- static files under gunicorn, nothing collected ------------------------------------------------------

_ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


def _get(url: str) -> tuple[int, str, str]:
    """``(status, content type, body)``, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode(errors="replace")


@pytest.fixture(scope="module")
def gunicorn_in_production_mode(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn with gunicorn.conf.py in the clone, DEBUG off, as run outside Docker; its base URL."""
    port = free_port()
    env = {
        **_BARE_ENV,
        "HOME": str(clone),
        "DEBUG": "False",
        "SECRET_KEY": "fresh-clone-test-Qm7Xv2Lp9Rt4Kw8Zb3Nc6Hd1Jf5Gs0Ya",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LLM_PROVIDER": "offline",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'db.sqlite3'}",
        "PORT": str(port),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
    }
    with gunicorn_serving(python=".venv/bin/python", cwd=clone, env=env) as server:
        yield server.base


@pytest.mark.slow
@pytest.mark.parametrize("page", ["/api/docs/", "/admin/login/"])
def test_gunicorn_serves_the_docs_and_the_admin_with_their_assets_before_collectstatic(
    clone: Path, gunicorn_in_production_mode: str, page: str
) -> None:
    # given: nothing collected
    assert not (clone / "staticfiles").exists()

    # when
    status, _, body = _get(gunicorn_in_production_mode + page)

    # then: the page and every static file it names
    assert status == 200, body[-2000:]
    assets = _ASSET.findall(body)
    assert assets, body
    for asset in assets:
        asset_status, content_type, _ = _get(gunicorn_in_production_mode + asset)
        assert asset_status == 200, asset
        assert content_type.split(";")[0] in {"text/css", "text/javascript", "application/javascript", "image/png"}
    assert not (clone / "staticfiles").exists()


def test_collected_files_are_named_by_hash_and_the_apps_own_by_name(tmp_path: Path, settings: Any) -> None:
    # given: DEBUG off (Django hands out plain names in DEBUG whatever the storage)
    settings.DEBUG = False
    collected = tmp_path / "collected"
    collected.mkdir()
    (collected / "staticfiles.json").write_text(
        '{"version": "1.1", "hash": "x", "paths": {"admin/css/base.css": "admin/css/base.0123abcd.css"}}'
    )

    # when: one storage over collectstatic's output, one over an empty STATIC_ROOT
    hashed = CollectedOrAppStaticFilesStorage(location=collected, base_url="/static/")
    plain = CollectedOrAppStaticFilesStorage(location=tmp_path / "nothing", base_url="/static/")

    # then
    assert hashed.url("admin/css/base.css") == "/static/admin/css/base.0123abcd.css"
    assert plain.url("admin/css/base.css") == "/static/admin/css/base.css"
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        hashed.url("admin/css/not-collected.css")
