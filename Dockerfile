# syntax=docker/dockerfile:1
# Shuren onboarding API. Build: docker build -t shuren-api .   Run: see docs/deployment.md.
# Every runtime dependency ships as a manylinux wheel (psycopg[binary] included),
# so neither stage needs apt or a compiler.

# --- builder: turn the pinned requirements into wheels ------------------------------
FROM python:3.11-slim-bookworm AS builder

WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# --- final: the runtime image ----------------------------------------------------------
FROM python:3.11-slim-bookworm

# Python: no .pyc litter, unbuffered logs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid so volume and file permissions are predictable across rebuilds and hosts.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Installed from the builder's wheels only (--no-index): the image gets exactly the
# pinned versions, and the bind mount keeps the wheels out of the image's layers.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    pip install --no-cache-dir --no-index --find-links=/wheels -r /tmp/requirements.txt

# The code belongs to root and is read-only for the app user.
COPY . .

# Static files are collected at build time. settings.py needs a secret key to load, and
# refuses a guessable one with DEBUG off: a random key made for this command only, never
# kept in the image. It also wants an explicit LLM provider with DEBUG off: collectstatic
# calls none, so the offline one.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" DEBUG=False ALLOWED_HOSTS=localhost LLM_PROVIDER=offline \
    python manage.py collectstatic --noinput

# Set after collectstatic, which must not run in Prometheus multiprocess mode. The
# directory is created for one-off commands (migrate); gunicorn's on_starting
# empties it when the server starts.
ENV DEBUG=False \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN install --directory --owner=app --group=app /tmp/prometheus

# Numeric, so Kubernetes (runAsNonRoot) and hosts without this passwd entry can verify it.
USER 10001:10001

EXPOSE 8000

# /health is liveness only (no database, no LLM). slim has no curl, so Python's urllib
# makes the request. The Host header is the first ALLOWED_HOSTS entry (Django answers
# 400 to any other) and X-Forwarded-Proto stops SECURE_SSL_REDIRECT from redirecting
# this plain-HTTP probe; urlopen raises, so the check fails, on any non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = next((x.strip().lstrip('.') for x in os.environ.get('ALLOWED_HOSTS', 'localhost').split(',') if x.strip() not in ('', '*')), 'localhost'); r.urlopen(r.Request('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "shuren.wsgi:application"]
