"""What a worker loads before its first request: ``serving_warm_up``, called by ``shuren.wsgi``.

Django imports the views on the first request, and the chat path builds the LLM client and each step's
tool and prompt on first use. Under load a fresh worker's first requests queue behind that work: at 500
users they took up to 2.9 s where the rest took 1.0-1.2 s, and the requests held back together came back
together, a cycle later, for the rest of the run (bench/RESULTS.md, "Issue 15, eleventh sitting"). Done
while gunicorn loads the application, it is done once, before the worker takes a connection, and the
objects it makes are frozen with the rest (gunicorn.conf.py, ``post_worker_init``).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.urls import get_resolver
from django.utils.module_loading import import_string


def serving_warm_up() -> None:
    """Import every view and what the middleware and the cache import on first use; with the agents app,
    build this process's LLM provider (the SDK client; no network) and each step's tool and prompt.

    Runs in each worker (``preload_app`` is off, and gunicorn.conf.py refuses ``--preload``): the provider's
    HTTP client must not be shared across a fork. A configuration error met here (say a malformed
    ``ANTHROPIC_BASE_URL``) fails the worker's boot, and gunicorn then stops: the server does not start,
    rather than starting and failing every chat message.
    """
    get_resolver().url_patterns  # noqa: B018 - the URLconf imports every view module on first access
    # The modules behind the cache (django-redis's client, serializer and compressor): each thread still
    # makes its own backend object, but the imports are done once here rather than inside a request.
    getattr(caches["default"], "client", None)
    # MessageMiddleware's storage and the session's serializer, imported by the first request otherwise.
    import_string(settings.MESSAGE_STORAGE)
    import_string(settings.SESSION_SERIALIZER)
    if apps.is_installed("agents"):  # the form flow runs without it (docs/architecture.md)
        from agents.llm import llm_provider_get
        from agents.turn.prepare import turn_caches_warm

        llm_provider_get()
        turn_caches_warm()
