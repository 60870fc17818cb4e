"""Which signing keys must never sign anything in production.

``shuren/settings.py`` refuses them at start when DEBUG is off, and ``shuren/checks.py``
reports them in ``manage.py check --deploy``. A key anyone can look up (a sample from
``.env.example``, the development key in this repository) or guess (short, or made of a
handful of characters) lets an attacker forge tokens that read other users' data.
"""

from __future__ import annotations

KEY_ADVICE = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
MIN_KEY_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10

# Public: it is in this repository, so anything it signs can be forged by anyone.
DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105 - dev only

# Compared lower-case. .env.example's samples, this repository's development key, and the
# placeholders people paste from tutorials.
_PUBLISHED_SAMPLES = frozenset(
    {
        DEV_SECRET_KEY,
        "change-me",
        "change-me-too",
        "changeme",
        "build-only",
        "secret",
        "secret-key",
        "your-secret-key",
        "your-secret-key-here",
        "jwt-secret",
    }
)
_PLACEHOLDER_PREFIXES = ("change-me", "changeme", "django-insecure-", "dev-only-insecure-key")


def key_is_published_sample(key: str) -> bool:
    """True for a key published in this repository or its samples: anyone can sign with it."""
    lowered = key.strip().lower()
    return lowered in _PUBLISHED_SAMPLES or lowered.startswith(_PLACEHOLDER_PREFIXES)


def key_weakness(key: str) -> str | None:
    """Why ``key`` must not sign tokens in production, or None when it may."""
    if key_is_published_sample(key):
        return "is a published sample or placeholder"
    if len(key) < MIN_KEY_LENGTH:
        return f"is shorter than {MIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    return None
