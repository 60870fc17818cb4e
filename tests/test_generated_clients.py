"""Clients generated from the published schema by tools nobody here wrote, used as a mobile team would.

* ``openapi-python-client`` (requirements-dev.txt) turns the schema ``/api/schema/`` serves into a
  Python package in a temporary folder; that package, not hand-written HTTP, walks a user through the
  whole onboarding against the live test server. A schema the generator mishandles (a warning, a
  response it cannot parse, a step's data typed ``Any``) fails here.
* ``openapi-typescript`` and ``tsc`` (``clients/typescript/``, from the npm registry) type-check a small
  TypeScript program against the types generated from ``manage.py spectacular``.
* The README's two ways of reading the chat stream (Python ``httpx``; ``fetch`` with a stream reader, run
  by Node) are taken from the README as written and run against the live server.

Nothing generated is committed: it is produced at test time.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start
from onboarding.steps import step_get
from tests.test_chat_offline import CONFIRM, USERS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "shuren_api_client"
TYPESCRIPT = ROOT / "clients" / "typescript"
README = ROOT / "README.md"
README_SECTION = "### Generated clients, and reading the chat stream"
# The generator's own post hooks run ruff over the output: not needed to import it, and slow.
GENERATOR_CONFIG = "post_hooks: []\n"


def _served_schema(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/api/schema/?format=json", timeout=10) as response:
        return dict(json.load(response))


@pytest.fixture
def python_client(live_server: Any, tmp_path: Path) -> Iterator[Any]:
    """The package ``openapi-python-client`` generates from the served schema, imported."""
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(_served_schema(live_server.url)))
    config = tmp_path / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")

    arguments = [
        "--path",
        str(schema),
        "--output-path",
        str(tmp_path / PACKAGE),
        "--meta",
        "none",
        "--config",
        str(config),
    ]
    result = subprocess.run(
        [str(generator), "generate", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # The generator reports what it could not handle as warnings and still exits 0: none may be left. (Only its
    # own report counts: under `make test` coverage also runs in the child, and may print warnings of its own.)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning(s) encountered" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.mark.slow
def test_the_generated_python_client_completes_an_onboarding(python_client: Any, live_server: Any) -> None:
    auth = {
        name: _module(python_client, f"api.auth.{name}")
        for name in ("auth_register", "auth_token_obtain", "auth_token_refresh", "auth_logout")
    }
    onboarding = {
        name: _module(python_client, f"api.onboarding.{name}")
        for name in ("onboarding_start", "onboarding_progress", "onboarding_state")
    }
    chat = _module(python_client, "api.chat.onboarding_chat")
    stream = _module(python_client, "api.chat.onboarding_chat_stream")
    models = _module(python_client, "models")
    public = python_client.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    # Given a user who registers and logs in through the generated client
    credentials = {"email": "generated@example.com", "password": "correct-horse-battery-9"}
    registered = auth["auth_register"].sync_detailed(client=public, body=models.RegisterRequest(**credentials))
    assert registered.status_code == 201
    assert isinstance(registered.parsed, models.User)
    tokens = auth["auth_token_obtain"].sync(client=public, body=models.TokenObtainPairRequest(**credentials))
    assert isinstance(tokens, models.TokenPair)
    client = python_client.AuthenticatedClient(
        base_url=live_server.url, token=tokens.access, raise_on_unexpected_status=True
    )

    # When they start, and answer the nine steps by chat, each message with an Idempotency-Key
    started = onboarding["onboarding_start"].sync(client=client)
    assert isinstance(started, models.OnboardingState)
    assert started.current_step == 1
    assert started.step_data.to_dict() == {}
    proposals: dict[int, Any] = {}
    replies = []
    for number, message in enumerate(USERS["terse"]["messages"], start=1):
        progress = onboarding["onboarding_progress"].sync(client=client)
        assert isinstance(progress, models.Progress)
        assert progress.next_step.step == number
        if number in (5, 7):
            proposals[number] = progress.next_step
        else:
            assert progress.next_step.suggestion is None
        key = str(uuid.uuid4())
        reply = chat.sync(client=client, body=models.ChatRequest(message=message), idempotency_key=key)
        assert isinstance(reply, models.ChatResponse), reply
        assert reply.step_complete is True, (number, reply.message)
        replies.append(reply)
        if number == 1:
            # a resent message (same key) gets the first reply back, and saves nothing twice
            again = chat.sync(client=client, body=models.ChatRequest(message=message), idempotency_key=key)
            assert again.to_dict() == reply.to_dict()

    # and confirm the summary of their answers, this time through the stream
    assert replies[-1].awaiting_confirmation is True
    assert replies[-1].next_action == models.NextActionEnum.CONTINUE
    confirmed = stream.sync_detailed(
        client=client, body=models.ChatRequest(message=CONFIRM), idempotency_key=str(uuid.uuid4())
    )

    # Then the stream's 200 comes back as its text (the generator does not parse it as JSON) ...
    assert confirmed.status_code == 200
    assert isinstance(confirmed.parsed, str)
    done = json.loads(confirmed.parsed.split("event: done\ndata: ", 1)[1].split("\n", 1)[0])
    assert models.ChatResponse.from_dict(done).next_action == models.NextActionEnum.COMPLETE_ONBOARDING
    # ... the next step came with its own type: the proposal of the plan steps typed, the others null
    assert isinstance(proposals[5], models.WorkoutPlanNextStep)
    assert len(proposals[5].suggestion.plan.sessions) == 3
    assert isinstance(proposals[7], models.MealPlanNextStep)
    assert proposals[7].fields.required == list(step_get(7).required_names())
    plan = proposals[7].suggestion
    assert plan.protein_pct + plan.carbs_pct + plan.fats_pct == 100
    # ... and the saved answers read as each step's model
    state = onboarding["onboarding_state"].sync(client=client)
    assert state.is_complete is True
    answers = state.step_data
    assert isinstance(answers.field_4, models.WorkoutPreferencesStep)
    assert (answers.field_4.location, answers.field_4.days_per_week) == (models.LocationEnum.HOME, 3)
    assert [session.weekday for session in answers.field_5.plan.sessions] == [0, 2, 4]
    assert answers.field_7.daily_calories == plan.daily_calories
    assert answers.field_8.workout_days == [0, 2, 4]
    assert answers.field_9.daily_water_ml == 2000

    # When the refresh token is exchanged, and the new one revoked at logout
    rotated = auth["auth_token_refresh"].sync(client=public, body=models.TokenRefreshRequest(refresh=tokens.refresh))
    assert isinstance(rotated, models.TokenPair)
    logout = auth["auth_logout"].sync_detailed(client=public, body=models.LogoutRequest(refresh=rotated.refresh))
    assert logout.status_code == 204

    # Then the revoked token is refused, in the documented error shape
    refused = auth["auth_token_refresh"].sync_detailed(
        client=public, body=models.TokenRefreshRequest(refresh=rotated.refresh)
    )
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Error)


def readme_snippet(language: str) -> str:
    """The first ``language`` code block of the README's section on clients."""
    section = README.read_text().split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {language} block in the README's section {README_SECTION!r}"
    return match.group(1)


@pytest.fixture
def streaming_user(make_user: Any) -> tuple[User, str]:
    """A user who has started onboarding, and their access token."""
    user = make_user()
    onboarding_start(user=user)
    return user, str(RefreshToken.for_user(user).access_token)


def _turns(user: User) -> int:
    return len(OnboardingState.objects.get(user=user).conversation_history) // 2


def test_the_readmes_python_stream_reader_works(
    live_server: Any, streaming_user: tuple[User, str], make_user: Any, capsys: Any
) -> None:
    # given the README's Python example, and a user at step 1
    namespace: dict[str, Any] = {}
    exec(compile(readme_snippet("python"), "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    chat_stream = namespace["chat_stream"]
    user, access = streaming_user

    # when it sends an answer, then resends it with the same key (a connection lost before "done")
    reply = chat_stream(live_server.url, access, "I'm a beginner", key="readme-python-1")
    printed = capsys.readouterr().out
    again = chat_stream(live_server.url, access, "I'm a beginner", key="readme-python-1")

    # then the reply was printed as it came and returned, and the resend replayed it without a second turn
    assert reply["step_complete"] is True
    assert reply["next_step"] == 2
    assert printed == reply["message"] + "\n"
    assert again == reply
    assert _turns(user) == 1
    # and an error before the stream starts arrives as the one error event, with its status
    stranger = str(RefreshToken.for_user(make_user()).access_token)
    with pytest.raises(RuntimeError, match=r"^404 onboarding_not_started: "):
        chat_stream(live_server.url, stranger, "hello")


def _typescript_tools() -> None:
    """Skip (fail in CI) when Node, npm or the package's installed tools are missing."""
    reason = ""
    if not (shutil.which("node") and shutil.which("npx")):
        reason = "node and npm are not installed (Node 20+ runs the TypeScript check)"
    elif not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
        reason = "run `npm ci` in clients/typescript (make test does) to install openapi-typescript and tsc"
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must run the TypeScript check: {reason}")
    if reason:
        pytest.skip(reason)


def _npx(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npx", "--no-install", *args], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_the_generated_typescript_types_check_and_the_readmes_fetch_reader_runs(
    live_server: Any, streaming_user: tuple[User, str], tmp_path: Path
) -> None:
    _typescript_tools()
    # given a copy of clients/typescript with the README's fetch example, and the schema as manage.py exports it
    project = tmp_path / "typescript"
    (project / "src").mkdir(parents=True)
    for name in ("package.json", "tsconfig.json", "src/check.ts"):
        shutil.copy(TYPESCRIPT / name, project / name)
    (project / "node_modules").symlink_to(TYPESCRIPT / "node_modules")
    (project / "src" / "readme-stream.ts").write_text(readme_snippet("ts"))
    call_command("spectacular", "--file", str(project / "schema.yaml"))

    # when openapi-typescript generates the types and tsc checks (and compiles) both programs against them
    generated = _npx(project, "openapi-typescript", "schema.yaml", "--output", "src/schema.d.ts")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    checked = _npx(project, "tsc", "-p", ".", "--noEmit", "false", "--outDir", "out")

    # then both type-check
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # and the fetch example, run by Node (the browser's fetch and streams), streams a reply and replays it
    user, access = streaming_user
    (project / "out" / "package.json").write_text('{"type": "module"}')
    runner = (
        "import { chatStream } from './readme-stream.js';"
        "const [url, access] = process.argv.slice(1); const texts = [];"
        "const reply = await chatStream(url, access, 'I am a beginner', (text) => texts.push(text), 'readme-ts-1');"
        "const again = await chatStream(url, access, 'I am a beginner', () => {}, 'readme-ts-1');"
        "console.log(JSON.stringify({ reply, again, texts }));"
    )
    node = subprocess.run(
        ["node", "--input-type=module", "-e", runner, live_server.url, access],
        cwd=project / "out",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert node.returncode == 0, node.stderr
    result = json.loads(node.stdout)
    assert result["reply"]["step_complete"] is True
    assert "".join(result["texts"]) == result["reply"]["message"]
    assert result["again"] == result["reply"]
    assert _turns(user) == 1
    # and it reads events cut anywhere, as networks and proxies deliver them: a fetch whose body arrives in
    # pieces of 1-3 bytes (inside "event:", between the two newlines, inside a multi-byte character)
    reply = {"message": "Wörld 💪", "step_complete": True}
    body = "".join(
        f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for event, data in [("delta", {"text": "Wö"}), ("delta", {"text": "rld 💪"}), ("done", reply)]
    )
    chunked = (
        "import { chatStream } from './readme-stream.js';"
        "const bytes = new TextEncoder().encode(process.argv[1]); let at = 0;"
        "globalThis.fetch = async () => new Response(new ReadableStream({ pull(controller) {"
        "  if (at >= bytes.length) return controller.close();"
        "  const size = 1 + (at % 3); controller.enqueue(bytes.slice(at, at + size)); at += size; }}));"
        "const texts = []; const reply = await chatStream('http://unused', 'token', 'hi', (t) => texts.push(t));"
        "console.log(JSON.stringify({ reply, texts }));"
    )
    node = subprocess.run(
        ["node", "--input-type=module", "-e", chunked, body],
        cwd=project / "out",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert node.returncode == 0, node.stderr
    assert json.loads(node.stdout) == {"reply": reply, "texts": ["Wö", "rld 💪"]}
