"""The terminal chat (``manage.py onboarding_chat``) as a person uses it: line editing, where they stand, quiet logs.

The prompt_toolkit tests type into a pipe that prompt_toolkit reads as a terminal (its own
test input), so the arrow keys go through the real line editor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from onboarding.models import OnboardingState
from tests.test_chat_offline import CONFIRM, USERS

UP = "\x1b[A"


@pytest.fixture
def keyboard() -> Iterator[PipeInput]:
    """Keys typed into the terminal chat, read by prompt_toolkit as from a terminal."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        yield pipe


def run_chat(*extra: str) -> None:
    call_command("onboarding_chat", "--email", "term@example.com", "--create", "--line-editing", "on", *extra)


def user_messages() -> list[str]:
    state = OnboardingState.objects.get(user__email="term@example.com")
    return [entry["content"] for entry in state.conversation_history if entry["role"] == "user"]


def test_it_opens_on_the_step_and_its_question(db: None, keyboard: PipeInput, capsys: Any) -> None:
    keyboard.send_text("quit\r")

    run_chat()

    out = capsys.readouterr().out
    assert "Step 1 of 9: Fitness level" in out
    assert "coach>" in out
    assert "fitness" in out.split("coach>", 1)[1].lower()


class ScreenOutput(DummyOutput):
    """What prompt_toolkit draws, kept so a test can wait for the prompt before it types."""

    def __init__(self) -> None:
        self.screen: list[str] = []

    def write(self, data: str) -> None:
        self.screen.append(data)

    def write_raw(self, data: str) -> None:
        self.screen.append(data)

    def prompts(self) -> int:
        return "".join(self.screen).count("you>")


def wait_for(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the terminal chat did not get there in time"
        time.sleep(0.01)


def test_the_up_arrow_recalls_the_last_message(transactional_db: None) -> None:
    # Given the terminal chat waiting at its prompt, typed into as a terminal
    screen = ScreenOutput()
    with create_pipe_input() as pipe:

        def chat() -> None:
            with create_app_session(input=pipe, output=screen):
                run_chat()
            connections.close_all()

        worker = threading.Thread(target=chat)
        worker.start()
        try:
            # When the user sends a message, then presses Up and Enter at the next prompt
            wait_for(lambda: screen.prompts() >= 1)
            pipe.send_text("hello there\r")
            wait_for(lambda: screen.prompts() >= 2)
            pipe.send_text(UP)
            pipe.send_text("\r")
            wait_for(lambda: screen.prompts() >= 3)
        finally:
            pipe.send_text("quit\r")
            worker.join(timeout=20)

    # Then the line the arrow brought back was sent again
    assert user_messages() == ["hello there", "hello there"]


def test_on_resume_it_shows_the_waiting_question_of_the_step_reached(
    db: None, keyboard: PipeInput, capsys: Any
) -> None:
    keyboard.send_text("\r".join(USERS["terse"]["messages"][:3]) + "\rquit\r")
    run_chat()
    capsys.readouterr()

    with create_pipe_input() as again, create_app_session(input=again, output=DummyOutput()):
        again.send_text("quit\r")
        run_chat()

    out = capsys.readouterr().out
    assert "Step 4 of 9: Workout preferences" in out
    assert "days" in out.split("coach>", 1)[1]


def test_a_whole_onboarding_ends_on_the_review_and_its_confirmation(db: None, keyboard: PipeInput, capsys: Any) -> None:
    keyboard.send_text("\r".join([*USERS["terse"]["messages"], CONFIRM]) + "\r")

    run_chat()

    out = capsys.readouterr().out
    assert "Here is everything you told me" in out
    assert out.rstrip().endswith("Onboarding complete.")
    assert OnboardingState.objects.get(user__email="term@example.com").is_complete


@pytest.mark.parametrize("verbose", [False, True])
def test_log_lines_only_with_verbose(db: None, keyboard: PipeInput, caplog: Any, verbose: bool) -> None:
    keyboard.send_text("beginner\rquit\r")

    with caplog.at_level(logging.INFO):
        run_chat(*(["--verbose"] if verbose else []))

    routed = [record for record in caplog.records if record.getMessage().startswith("Routing user")]
    assert bool(routed) is verbose
