"""ASGI entry point of the reference endpoint (``gunicorn -k uvicorn_worker.UvicornWorker bench.reference.asgi``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")
os.environ.setdefault("REFERENCE_ASYNC", "1")
application = get_asgi_application()

# As bench/reference/wsgi.py does: the views, and with them the SDK client, are loaded before the first request.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
