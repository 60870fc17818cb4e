"""WSGI entry point of the reference endpoint (``gunicorn bench.reference.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")
application = get_wsgi_application()

# As the service does (shuren.warmup): the views, and with them the SDK client, are loaded before the first
# request, not by it.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
