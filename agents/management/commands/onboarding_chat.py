"""``python manage.py onboarding_chat --email EMAIL``: the onboarding conversation in a terminal."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from agents.selectors import current_agent_get
from agents.services import chat_turn_process
from onboarding.services import onboarding_start
from shuren.errors import ServiceError

QUIT_WORDS = {"quit", "exit", ":q"}


class Command(BaseCommand):
    """Chat through onboarding as a user, with the same service code as the API."""

    help = "Run the onboarding chat for a user in the terminal (type 'quit' or press Ctrl-D to leave)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The user to chat as.")
        parser.add_argument("--create", action="store_true", help="Create the user if there is none with that email.")

    def handle(self, *args: Any, email: str, create: bool, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            if not create:
                raise CommandError(f"No user with email {email}; pass --create to make one.")
            user = User.objects.create_user(email=email, password=None)  # no password: terminal only
            self.stdout.write(f"Created user {user.email}.")
        state, _ = onboarding_start(user=user)
        if state.is_complete:
            self.stdout.write("This user has already completed onboarding.")
            return
        agent = current_agent_get(user=user)
        self.stdout.write(f"Step {agent['current_step']} of 9 - {agent['agent_description']}. Type 'quit' to leave.")
        self._loop(user)

    def _loop(self, user: User) -> None:
        stdin = sys.stdin
        while True:
            self.stdout.write("you> ", ending="")
            self.stdout.flush()
            line = stdin.readline()
            if not line:
                self.stdout.write("")
                return
            message = line.strip()
            if not message:
                continue
            if message.lower() in QUIT_WORDS:
                return
            try:
                reply = chat_turn_process(user=user, message=message[:2000])
            except ServiceError as exc:
                self.stdout.write(self.style.ERROR(f"[{exc.code}] {exc.detail}"))
                continue
            self.stdout.write(f"coach ({reply.agent_type}, step {reply.current_step})> {reply.message}")
            if reply.is_complete:
                self.stdout.write(self.style.SUCCESS("Onboarding complete."))
                return
