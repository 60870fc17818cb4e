"""Settings for ``make converse``: the service's own settings on the offline engine, fast and quiet.

The walk runs in this process against a throwaway test database (in memory on SQLite), like the
test suite; ``DATABASE_URL`` still chooses the database server.
"""

import os

os.environ.setdefault("SHUREN_DEV_DEFAULTS", "1")
os.environ["LLM_PROVIDER"] = "offline"
os.environ.setdefault("CACHE_URL", "locmemcache://converse")

from shuren.settings import *  # noqa: F403
from shuren.settings import LOGGING, REST_FRAMEWORK

# Every persona registers a user: PBKDF2 would cost ~0.3 s each for nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# One process sends hundreds of messages a minute; the per-user throttle is not what is measured here.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"chat": "100000/minute", "auth": "100000/minute"}
LOGGING["root"]["level"] = "WARNING"
