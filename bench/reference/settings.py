"""Settings of the reference endpoint: Django + DRF + simplejwt, PostgreSQL with Django's pool, nothing else.

It is what the issue's reference is: the same library versions as the service, no middleware, no throttle,
no metrics, no validation beyond DRF's. ``bench/run.py --target reference`` starts it with the same
environment variables as the service (``DATABASE_URL``, ``SECRET_KEY``, ``DB_POOL_MAX_SIZE``,
``ANTHROPIC_BASE_URL``...) under the same ``gunicorn.conf.py``.
"""

from __future__ import annotations

import environ

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="reference-only-" + "x" * 40)
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# REFERENCE_ASYNC=1 (set by asgi.py): the chat turn as an async view (views_async.py), for the ASGI measurement.
ROOT_URLCONF = "bench.reference.urls_async" if env.bool("REFERENCE_ASYNC", default=False) else "bench.reference.urls"
WSGI_APPLICATION = "bench.reference.wsgi.application"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "bench.reference",
]
MIDDLEWARE: list[str] = []

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/shuren_bench")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    "pool": {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="reference-key")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
LLM_MODEL = env.str("LLM_MODEL", default="claude-sonnet-5-5")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
