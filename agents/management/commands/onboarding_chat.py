"""``python manage.py onboarding_chat --email EMAIL``: the onboarding conversation in a terminal, like ``rasa shell``.

Line editing and history (the arrow keys, Ctrl-R) come from prompt_toolkit when the
terminal is interactive; colour from rich. It opens on where the user stands and the
question that is waiting, says which step each reply was about, and ends on the review
summary and its confirmation. Log lines stay out of the conversation unless ``--verbose``.
Piped input (``printf 'beginner\\n' | ...``) is read line by line, without line editing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from rich.console import Console
from rich.markup import escape

from accounts.models import User
from agents.enabled import agents_ensure_enabled
from agents.selectors import current_agent_get, pending_question_get
from agents.services import chat_turn_process
from core.errors import ServiceError
from onboarding.services import onboarding_start
from onboarding.steps import LAST_STEP, step_get

QUIT_WORDS = {"quit", "exit", ":q"}
MESSAGE_MAX_LENGTH = 2000


@contextmanager
def _logs_quiet(verbose: bool) -> Iterator[None]:
    """Keep INFO and DEBUG log lines out of the conversation unless asked for."""
    if verbose:
        yield
        return
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


class Command(BaseCommand):
    """Chat through onboarding as a user, with the same service code as the API."""

    help = "Run the onboarding chat for a user in the terminal (type 'quit' or press Ctrl-D to leave)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The user to chat as.")
        parser.add_argument("--create", action="store_true", help="Create the user if there is none with that email.")
        parser.add_argument("--verbose", action="store_true", help="Show the service's log lines too.")
        parser.add_argument(
            "--line-editing",
            choices=("auto", "on", "off"),
            default="auto",
            help="Line editing and history: on an interactive terminal (auto), always, or never.",
        )

    def handle(self, *args: Any, email: str, create: bool, verbose: bool, line_editing: str, **options: Any) -> None:
        # rich writes through the command's stdout (an OutputWrapper that proxies the stream), so tests capture it.
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        try:
            agents_ensure_enabled()
        except ServiceError as exc:
            raise CommandError(f"[{exc.code}] {exc.detail}") from exc
        with _logs_quiet(verbose):
            user = self._user(console, email, create)
            state, _ = onboarding_start(user=user)
            if state.is_complete:
                console.print("[green]This user has already completed onboarding.[/green]")
                return
            self._where(console, user)
            self._loop(console, user, self._reader(line_editing))

    def _user(self, console: Console, email: str, create: bool) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user
        if not create:
            raise CommandError(f"No user with email {email}; pass --create to make one.")
        user = User.objects.create_user(email=email, password=None)  # no password: terminal only
        console.print(f"Created user {escape(user.email)}.")
        return user

    def _where(self, console: Console, user: User) -> None:
        """Where the user stands, and the question that is waiting for them."""
        agent = current_agent_get(user=user)
        step = agent["current_step"]
        console.print(
            f"[bold]Step {step} of {LAST_STEP}: {escape(step_get(step).title)}[/bold]"
            f" [dim]- {escape(agent['agent_description'] or '')}. Type 'quit' or press Ctrl-D to leave.[/dim]"
        )
        console.print(f"[cyan]coach>[/cyan] {escape(pending_question_get(user=user))}")

    def _reader(self, line_editing: str) -> Callable[[], str | None]:
        """A function that reads the next line, or None at the end of input."""
        if line_editing == "on" or (line_editing == "auto" and sys.stdin.isatty()):
            session: PromptSession[str] = PromptSession(history=InMemoryHistory())

            def edited() -> str | None:
                try:
                    return session.prompt("you> ")
                except EOFError:
                    return None

            return edited

        def plain() -> str | None:
            self.stdout.write("you> ", ending="")
            self.stdout.flush()
            line = sys.stdin.readline()
            return line or None

        return plain

    def _loop(self, console: Console, user: User, read: Callable[[], str | None]) -> None:
        while True:
            line = read()
            if line is None:
                console.print("")
                return
            message = line.strip()
            if not message:
                continue
            if message.lower() in QUIT_WORDS:
                return
            try:
                reply = chat_turn_process(user=user, message=message[:MESSAGE_MAX_LENGTH])
            except ServiceError as exc:
                console.print(f"[red][{escape(exc.code)}] {escape(exc.detail)}[/red]")
                continue
            title = step_get(reply.current_step).title
            console.print(f"[cyan]coach[/cyan] [dim]({escape(title)})[/dim][cyan]>[/cyan] {escape(reply.message)}")
            if reply.is_complete:
                console.print("[bold green]Onboarding complete.[/bold green]")
                return
