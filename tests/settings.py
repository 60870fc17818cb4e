"""Settings for the test suite: the real settings, made fast and hermetic.

``DATABASE_URL`` still chooses the database, so the same suite runs on SQLite
and on PostgreSQL (``.ci/run`` does both).
"""

import os

# A developer's .env (make run writes one) must not change what the tests check.
os.environ.setdefault("SHUREN_ENV_FILE", "")
os.environ.setdefault("SHUREN_DEV_DEFAULTS", "1")
os.environ.setdefault("LLM_PROVIDER", "offline")
# A request during a database outage should fail fast (the default waits 10 s for a pooled connection).
os.environ.setdefault("DB_POOL_TIMEOUT", "2")
os.environ.pop("ANTHROPIC_API_KEY", None) if os.environ.get("LLM_PROVIDER") == "offline" else None

from shuren.settings import *  # noqa: E402, F403
from shuren.settings import REST_FRAMEWORK  # noqa: E402

# Hashing passwords with PBKDF2 costs ~0.3 s a user; tests create hundreds.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"chat": "1000/minute", "auth": "1000/minute"}
LOGGING["root"]["level"] = "DEBUG"  # noqa: F405  (tests read the DEBUG context logs)

# pytest-xdist runs the suite in several processes (``make test`` uses one per core). Each needs a
# database and a cache of its own: SQLite's test database stays in memory (a file name would be
# suffixed per worker into a path that does not exist), and a Redis cache moves to its own database
# number so that one worker's ``cache.clear()`` never wipes another's locks and throttles.
if "sqlite" in DATABASES["default"]["ENGINE"] and not DATABASES["default"]["TEST"]["NAME"]:  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = ":memory:"  # noqa: F405
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    _base, _, _number = CACHES["default"]["LOCATION"].rpartition("/")  # noqa: F405
    CACHES["default"]["LOCATION"] = f"{_base}/{(int(_number or 0) - int(_worker[2:])) % 16}"  # noqa: F405
