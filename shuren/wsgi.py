"""WSGI entry point (gunicorn ``shuren.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuren.settings")

application = get_wsgi_application()

from shuren.warmup import serving_warm_up  # noqa: E402 - needs the settings that get_wsgi_application set up

serving_warm_up()
