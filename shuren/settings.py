"""Settings for the Shuren onboarding service.

Every value that differs between machines comes from the environment (or a
``.env`` file next to ``manage.py``) and is read here, in one place, with
django-environ. The README's configuration table lists each variable.

Embedded defaults need nothing: SQLite in the project folder, a local-memory
cache and the offline LLM engine. ``DEBUG`` defaults to False; ``make run``
sets ``SHUREN_DEV_DEFAULTS=1``, which turns on DEBUG and a throwaway secret key
unless the environment or ``.env`` says otherwise, and copies ``.env.example``
(which sets it too) to ``.env`` when there is none, so that every ``manage.py``
command run from the checkout gets the same development defaults.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from shuren.keys import DEV_SECRET_KEY, KEY_ADVICE, key_is_published_sample, key_weakness

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The .env next to manage.py (`make run` writes one). SHUREN_ENV_FILE names another file, or none
# when blank: the test suite's way to keep a developer's .env out of what it checks.
_env_file = os.environ.get("SHUREN_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

DEV_DEFAULTS = env.bool("SHUREN_DEV_DEFAULTS", default=False)
DEBUG = env.bool("DEBUG", default=DEV_DEFAULTS)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    # DEBUG alone decides: SHUREN_DEV_DEFAULTS only changes DEBUG's default, so with DEBUG
    # explicitly off the public development key never signs anything.
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not configured (required when DEBUG is False, even with SHUREN_DEV_DEFAULTS). {KEY_ADVICE}"
        )
    SECRET_KEY = DEV_SECRET_KEY
elif not DEBUG and key_is_published_sample(SECRET_KEY):
    raise ImproperlyConfigured(
        f"SECRET_KEY is still the .env.example placeholder or another published sample; set a real secret. {KEY_ADVICE}"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
if not DEBUG and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must not contain '*' when DEBUG is False")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VERSION = env.str("APP_VERSION", default="1.0.0")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "shuren",
    "accounts",
    "onboarding",
    "agents",
    "health",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.request_id.RequestIdMiddleware",
    "core.body.ChunkedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.csp.CSPMiddleware",  # django-csp's, building the usual policy once
    "core.metrics.DbQueryTimingMiddleware",
    # Turns a locked-out admin login into axes' 429 page; last, as axes asks.
    "axes.middleware.AxesMiddleware",
    "core.metrics.PrometheusAfterMiddleware",  # django-prometheus', its labelled metrics looked up once
]

ROOT_URLCONF = "shuren.urls"
WSGI_APPLICATION = "shuren.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------


def _on_greenlets() -> bool:
    """Whether gevent has patched the standard library: gunicorn's gevent worker does, before Django loads."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


# SQLite in the project folder by default; DATABASE_URL=postgres://... switches
# to PostgreSQL through psycopg 3 with Django's connection pool. Either is Django's
# backend with django-prometheus' metrics (core/db_backends).
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db["ENGINE"] = "core.db_backends.postgresql"
    _db.setdefault("OPTIONS", {})
    # A connection is checked before use, so after a database restart the service
    # replaces dead connections by itself (with the pool: core/db_backends/postgresql/pool.py).
    _db["CONN_HEALTH_CHECKS"] = True
    if env.bool("DB_POOL", default=True):
        # With the pool, CONN_MAX_AGE must stay 0: the pool keeps the connections.
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
        if _db["CONN_MAX_AGE"] and _on_greenlets():
            # Each request runs in a greenlet of its own, whose persistent connection is never reused and stays
            # open until garbage collection: PostgreSQL soon refuses more ("too many clients already").
            raise ImproperlyConfigured(
                "GUNICORN_WORKER_CLASS=gevent needs DB_POOL=true (or CONN_MAX_AGE=0): a persistent connection "
                "per greenlet is never reused and is left open"
            )
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    # TCP keepalives: a connection whose server vanished without closing it (a crashed host, a failover to
    # another machine at the same address) is reported dead by the kernel after about a minute idle, which
    # the pool's checkout check then sees. DATABASE_URL's query string (?keepalives_idle=60) overrides them.
    for _option, _value in (
        ("keepalives", 1),
        ("keepalives_idle", 30),
        ("keepalives_interval", 10),
        ("keepalives_count", 3),
    ):
        _db["OPTIONS"].setdefault(_option, _value)
    _pgbouncer = env.bool("DB_PGBOUNCER", default=False)
    if _pgbouncer:
        # DATABASE_URL is PgBouncer in transaction pooling mode: each transaction may run on
        # another server connection, so nothing may outlive one (docs/deployment.md, "PgBouncer").
        # A server-side cursor (QuerySet.iterator()) would be DECLAREd on one connection and
        # FETCHed on another; a prepared statement likewise: the chat turn's (below) fail then, and
        # psycopg's own (prepare_threshold, and server-side binding) stay off, as Django's defaults
        # have them, so that no OPTIONS change turns them back on unnoticed.
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
        _db["OPTIONS"]["prepare_threshold"] = None
        _db["OPTIONS"]["server_side_binding"] = False
        _db["OPTIONS"]["prepared_statements"] = False
    # Values stored out of line (TOAST: the JSON columns once their value passes about 2 kB) are compressed
    # with lz4 rather than PostgreSQL's default pglz: a chat turn's UPDATE recompresses the conversation
    # history it appends to (bench/RESULTS.md, eighth sitting). A session setting, sent at connect after
    # any options of DATABASE_URL's query string (or PGOPTIONS), which win when they set it themselves; values
    # already stored keep their compression and read the same. Through PgBouncer, which refuses or drops a
    # startup "options", set it on the role instead (docs/deployment.md, "PgBouncer"). Blank: the server's
    # default_toast_compression.
    _toast_compression = env.str("DB_TOAST_COMPRESSION", default="lz4")
    if _toast_compression not in ("", "lz4", "pglz"):
        raise ImproperlyConfigured(f"DB_TOAST_COMPRESSION must be lz4, pglz or blank, not {_toast_compression!r}")
    _options = _db["OPTIONS"].get("options") or os.environ.get("PGOPTIONS", "")
    if _toast_compression and "default_toast_compression" not in _options and not _pgbouncer:
        _db["OPTIONS"]["options"] = f"{_options} -c default_toast_compression={_toast_compression}".strip()
    # The chat turn's two raw statements (core.db_backends.prepared_cursor) are prepared on each pooled
    # connection; the ORM's never are, as it binds on the client. Not without the pool: the turn closes
    # its connection before the LLM call, so a statement prepared there would never run again. Off
    # through PgBouncer's transaction pooling (above).
    _db["OPTIONS"].setdefault("prepared_statements", "pool" in _db["OPTIONS"])
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["ENGINE"] = "core.db_backends.sqlite3"
    _db.setdefault("OPTIONS", {})
    # WAL and a busy timeout let the dev server's threads write without "database is locked".
    _db["OPTIONS"].setdefault("timeout", 20)
    _db["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
    )
    _db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MIGRATION_MODULES: dict[str, str] = {}

# --- Cache ------------------------------------------------------------------
# The cache is an accelerator (throttle counters, LLM replies, the LLM health check): every
# use of it goes on without it when Redis is down (core/degraded_cache.py). The socket
# timeouts bound how long a hanging Redis can hold a request: each call waits at most this.
CACHE_SOCKET_CONNECT_TIMEOUT = env.float("CACHE_SOCKET_CONNECT_TIMEOUT", default=0.3)
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.3)
_cache_backends = {
    "django.core.cache.backends.locmem.LocMemCache": "django_prometheus.cache.backends.locmem.LocMemCache",
    "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
}


def cache_settings(url: str) -> dict[str, Any]:
    """The ``CACHES["default"]`` entry for a ``CACHE_URL``: with metrics and, for Redis, short timeouts."""
    config: dict[str, Any] = env.cache_url_config(url)
    config["BACKEND"] = _cache_backends.get(config["BACKEND"], config["BACKEND"])
    config.setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="shuren"))
    if config["BACKEND"] == "django_prometheus.cache.backends.redis.RedisCache":  # django-redis underneath
        options = config.setdefault("OPTIONS", {})
        options.setdefault("SOCKET_CONNECT_TIMEOUT", CACHE_SOCKET_CONNECT_TIMEOUT)
        options.setdefault("SOCKET_TIMEOUT", CACHE_SOCKET_TIMEOUT)
    return config


CACHES = {"default": cache_settings(env.str("CACHE_URL", default="locmemcache://shuren"))}

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# django-axes checks a login against its lockouts first; ModelBackend then checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# client address, that pair is refused (429, even with the right password) for
# ADMIN_LOGIN_COOLOFF_MINUTES. Per pair, so an attacker elsewhere cannot lock staff out.
# The API's own token endpoint keeps its per-IP throttle (THROTTLE_AUTH_RATE) instead.
AXES_ENABLED = True
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The admin login form's field (axes' default is USERNAME_FIELD, "email", which the form does not post).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
# Attempts live in the database (axes' default handler): shared by every worker and
# instance, and still enforced while the cache is down.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The client address as the throttles see it (NUM_PROXIES), not the proxy's.
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"

# Django's default list, its first (the one new hashes use) replaced by the same PBKDF2-SHA256 computed off the
# event loop under a gevent worker (accounts/hashers.py; docs/deployment.md, "Choosing the worker class").
PASSWORD_HASHERS = [
    "accounts.hashers.CooperativePBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# JWTs are signed with this key: one anyone can look up or guess forges any user's token.
_JWT_KEY_IS_OWN = bool(env.str("JWT_SIGNING_KEY", default=""))
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
if not DEBUG and (_jwt_key_weakness := key_weakness(JWT_SIGNING_KEY)):
    _jwt_key_name = (
        "JWT_SIGNING_KEY" if _JWT_KEY_IS_OWN else "SECRET_KEY (it signs JWTs while JWT_SIGNING_KEY is unset)"
    )
    raise ImproperlyConfigured(
        f"{_jwt_key_name} {_jwt_key_weakness}, so tokens signed with it can be forged. {KEY_ADVICE}"
    )

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=24 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "chat": env.str("THROTTLE_CHAT_RATE", default="30/minute"),
        "auth": env.str("THROTTLE_AUTH_RATE", default="20/minute"),
    },
    # 0: the client IP is REMOTE_ADDR, so a forged X-Forwarded-For cannot dodge the per-IP auth
    # throttle. Behind N trusted proxies set NUM_PROXIES=N.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Shuren onboarding API",
    "DESCRIPTION": "Onboarding for the Shuren fitness app: nine steps, by form or by chatting with an agent.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation carries one of these tags (set on its view); Swagger UI groups them in this order.
    "TAGS": [
        {"name": "auth", "description": "Accounts and JWT tokens."},
        {"name": "onboarding", "description": "The caller's own onboarding, by form; export and erase."},
        {"name": "chat", "description": "Onboarding by chatting with the agents."},
        {"name": "health", "description": "Liveness and readiness checks (no token)."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "GoalEnum": "onboarding.steps.GOALS",
        "AgentTypeEnum": "onboarding.steps.AgentType.ALL",
        "OnboardingStageEnum": "agents.stages.ONBOARDING_STAGES",
    },
    # The ``data`` of a ``delta`` event of chat/stream, which the stream's text description points to
    # (OpenAPI 3.0 cannot type JSON inside a text body).
    "APPEND_COMPONENTS": {
        "schemas": {
            "ChatStreamDelta": {
                "type": "object",
                "description": "The `data` of one `delta` event of chat/stream: the next piece of the reply.",
                "required": ["text"],
                "properties": {"text": {"type": "string"}},
            }
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.error_responses_document",
    ],
}

# --- LLM --------------------------------------------------------------------
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
LLM_PROVIDER_EXPLICIT = bool(env.str("LLM_PROVIDER", default=""))
# Blank means Claude when a key is set. Without a key, only DEBUG (development) falls back to the
# offline engine, with a WARNING at start; production must say LLM_PROVIDER=offline on purpose, so a
# forgotten key fails loudly, with the deployment guide's ValueError, instead of serving the offline engine.
LLM_PROVIDER = env.str("LLM_PROVIDER", default="") or ("anthropic" if ANTHROPIC_API_KEY or not DEBUG else "offline")
if LLM_PROVIDER not in {"anthropic", "offline"}:
    raise ImproperlyConfigured(f"LLM_PROVIDER must be 'anthropic' or 'offline', not {LLM_PROVIDER!r}")
if LLM_PROVIDER == "anthropic" and not ANTHROPIC_API_KEY:
    raise ValueError(
        "ANTHROPIC_API_KEY is not configured: set it (sk-ant-...), or set LLM_PROVIDER=offline to serve the"
        " offline engine on purpose (with DEBUG off a blank LLM_PROVIDER means anthropic)"
    )
LLM_MODEL = env.str("LLM_MODEL", default="claude-sonnet-5-5")
LLM_TEMPERATURE = env.float("LLM_TEMPERATURE", default=0.7)
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=2048)
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=30.0)
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=5.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)
# No chat turn waits on the LLM longer than this, retries included.
LLM_DEADLINE_SECONDS = env.float("LLM_DEADLINE_SECONDS", default=60.0)
LLM_HISTORY_MESSAGES = env.int("LLM_HISTORY_MESSAGES", default=20)
LLM_RETRY_AFTER_SECONDS = env.int("LLM_RETRY_AFTER_SECONDS", default=30)
LLM_RESPONSE_CACHE_SECONDS = env.int("LLM_RESPONSE_CACHE_SECONDS", default=3600)
LLM_RESPONSE_CACHE_ENABLED = env.bool("LLM_RESPONSE_CACHE_ENABLED", default=True)
ANTHROPIC_HEALTH_CACHE_SECONDS = env.int("ANTHROPIC_HEALTH_CACHE_SECONDS", default=60)

# --- Onboarding behaviour ------------------------------------------------------
# Off: the chat, its stream and current-agent answer 503 ``agents_disabled`` and nothing reads or writes the
# agent columns of the onboarding state, so `manage.py rollback onboarding` can drop them under a running
# release (docs/deployment.md, "Roll back").
AGENTS_ENABLED = env.bool("AGENTS_ENABLED", default=True)
CHAT_MESSAGE_MAX_CHARS = 2000
# 0 keeps no conversation (each turn then sends the LLM the new message alone); it is not "no limit".
CONVERSATION_HISTORY_MAX_ENTRIES = env.int("CONVERSATION_HISTORY_MAX_ENTRIES", default=400)
if CONVERSATION_HISTORY_MAX_ENTRIES < 0:
    raise ImproperlyConfigured(
        f"CONVERSATION_HISTORY_MAX_ENTRIES must be 0 or more, not {CONVERSATION_HISTORY_MAX_ENTRIES}"
    )
CHAT_TURN_LOCK_SECONDS = env.int("CHAT_TURN_LOCK_SECONDS", default=75)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
CONVERSATION_RETENTION_DAYS = env.int("CONVERSATION_RETENTION_DAYS", default=365)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=64 * 1024)
# Deeper JSON bodies are a 400 (core/parsers.py): unbounded nesting crashed the parser.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)

# --- Internationalisation, static -------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and Swagger UI's assets from gunicorn in production: the hashed,
# compressed copies collectstatic writes (the Docker image does at build time) or, until they
# exist, the apps' own files (shuren/static_storage.py), so a checkout needs no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "shuren.static_storage.CollectedOrAppStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").is_file()
ADMIN_URL = env.str("ADMIN_URL", default="admin/")

# --- Security -----------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Browsers may send the chat's Idempotency-Key and read Retry-After (429/503) and X-Request-ID.
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# django-csp. Scripts only from this origin: the admin has no inline script and Swagger UI
# is served as separate files (SpectacularSwaggerSplitView, drf-spectacular-sidecar's
# bundle). Inline styles stay allowed: the admin's style attributes and Swagger UI's
# <style> block need them, and a style runs no code. data: images are Swagger UI's icons;
# connect-src lets it fetch the schema and send "Try it out" requests.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    },
}

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_id.RequestIdLogFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers for these print no request id (and, with DEBUG, django.request twice):
        # configured here, they keep none and reach the console handler above, request id included.
        "django": {"level": "INFO", "propagate": True},
        "django.server": {"level": "INFO", "propagate": True},
        # The SDK logs whole requests (user messages included) at DEBUG.
        "anthropic": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "httpcore2": {"level": "WARNING"},
    },
}

PROMETHEUS_EXPORT_MIGRATIONS = False
# Every latency histogram (ours in core/metrics.py, django-prometheus' HTTP and database ones) starts at
# 5 ms, so a fast reply is not just "under 50 ms", and has each target and alert threshold of the
# deployment guide (0.1, 0.5, 1.5, 2, 3, 5 s) as a bound, so histogram_quantile is exact there
# (prometheus_client adds +Inf).
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30, 60)
