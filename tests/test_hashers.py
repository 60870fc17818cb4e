"""The password hasher (accounts/hashers.py): Django's PBKDF2-SHA256, on gevent's thread pool under a gevent worker."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password

from accounts import hashers
from accounts.hashers import CooperativePBKDF2PasswordHasher

SALT = "sAlTsAlTsAlT"


def test_it_is_the_production_default_and_hashes_exactly_as_django_does() -> None:
    from shuren import settings as production

    assert production.PASSWORD_HASHERS[0] == "accounts.hashers.CooperativePBKDF2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" not in production.PASSWORD_HASHERS
    hasher = CooperativePBKDF2PasswordHasher()

    assert hasher.algorithm == "pbkdf2_sha256"  # hashes made before it still verify, and the other way round
    assert hasher.encode("secret", SALT, 1000) == PBKDF2PasswordHasher().encode("secret", SALT, 1000)


def test_outside_a_gevent_worker_it_hashes_in_the_calling_thread() -> None:
    assert hashers._gevent_patched() is False  # pytest is not a patched process

    assert CooperativePBKDF2PasswordHasher().encode("secret", SALT, 1000).startswith("pbkdf2_sha256$1000$")


def test_in_a_gevent_worker_the_hash_runs_on_another_thread(monkeypatch: pytest.MonkeyPatch, settings: object) -> None:
    # Given a process that gevent has patched (here: said to be, with gevent's hub in this thread)
    monkeypatch.setattr(hashers, "_gevent_patched", lambda: True)
    threads: list[str] = []
    original = PBKDF2PasswordHasher.encode

    def spy(self: PBKDF2PasswordHasher, password: str, salt: str, iterations: int | None = None) -> str:
        threads.append(threading.current_thread().name)
        return original(self, password, salt, iterations)

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", spy)
    settings.PASSWORD_HASHERS = ["accounts.hashers.CooperativePBKDF2PasswordHasher"]  # type: ignore[attr-defined]

    # When a password is hashed and checked
    encoded = make_password("secret", SALT)

    # Then both hashes ran off the calling thread, with the same result as in it
    assert check_password("secret", encoded)
    assert encoded == PBKDF2PasswordHasher().encode("secret", SALT)
    assert len(threads) == 3
    assert threading.current_thread().name not in threads[:2]
