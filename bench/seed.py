"""Create benchmark accounts in bulk and mint access tokens: ``python bench/seed.py --accounts N --out FILE``.

Runs with the server's environment (``DATABASE_URL``, ``SECRET_KEY``, ``DJANGO_SETTINGS_MODULE`` for the
reference endpoint...), so the tokens verify on the server. Passwords are unusable rather than hashed (a
PBKDF2 hash per account would take minutes for thousands of accounts), and access tokens are minted
directly: ``AccessToken.for_user`` writes nothing, unlike ``RefreshToken.for_user``, which records an
outstanding token per call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 1000


def accounts_create(count: int, prefix: str) -> list[str]:
    """Insert ``count`` users named ``{prefix}-{i}@bench.invalid`` and return one access token each."""
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    # The service's accounts.User or, for the reference endpoint (bench/reference), Django's own User.
    User = get_user_model()  # noqa: N806 (a class)
    users = []
    for index in range(count):
        user = User(**{User.USERNAME_FIELD: f"{prefix}-{index}@bench.invalid"})
        user.set_unusable_password()
        users.append(user)
    # PostgreSQL returns the new primary keys from bulk_create, which the tokens need.
    created = User.objects.bulk_create(users, batch_size=BATCH_SIZE)
    return [str(AccessToken.for_user(user)) for user in created]


def main() -> None:
    """Entry point: create the accounts and write their tokens as a JSON list."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prefix", default="bench")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuren.settings")
    import django

    django.setup()
    started = time.monotonic()
    tokens = accounts_create(args.accounts, args.prefix)
    args.out.write_text(json.dumps(tokens))
    print(f"created {len(tokens)} accounts in {time.monotonic() - started:.1f}s", flush=True)


if __name__ == "__main__":
    main()
