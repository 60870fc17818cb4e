# The two commands a newcomer needs: `make run` and `make test`. Both create or
# refresh the virtualenv in .venv first, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# make run listens on this machine only; HOST=0.0.0.0 opens it to the network (DEBUG on, public dev key).
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck migrate rollback superuser fuzz bench bench-full bench-cluster converse slowloris cluster-test clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# SHUREN_DEV_DEFAULTS turns on DEBUG and a throwaway secret key unless the
# environment or .env set them: `make run` is for development. It also copies
# .env.example to .env when there is none, so that manage.py commands run from
# this checkout (createsuperuser, onboarding_chat...) get the same defaults.
run: $(STAMP) .env
	SHUREN_DEV_DEFAULTS=1 $(BIN)/python manage.py migrate --noinput
	SHUREN_DEV_DEFAULTS=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Only when missing: an existing .env is never overwritten.
.env:
	cp .env.example .env

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

# The tools of the TypeScript client check (clients/typescript, pinned by its package-lock.json), installed
# once per lock change from npm's cache; without npm the check is skipped (tests/test_generated_clients.py).
TS_TOOLS := clients/typescript/node_modules/.package-lock.json
$(TS_TOOLS): clients/typescript/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix clients/typescript --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null && touch $@; \
	else echo "npm not found: the TypeScript client check will be skipped"; fi

test: $(TS_TOOLS)

# The second run: the form flow with the agents app left out (tests/settings_no_agents.py).
# pytest-xdist runs the suite on every core (TEST_JOBS=auto; TEST_JOBS=0 runs it in one process). The
# tests marked serial stop PostgreSQL under the service (SHUREN_TEST_RESTART_POSTGRES=1, CI only): they
# are skipped in the parallel run and run alone after it.
TEST_JOBS ?= auto
test: lint typecheck
	$(BIN)/pytest -n $(TEST_JOBS)
	@if [ "$$SHUREN_TEST_RESTART_POSTGRES" = 1 ] && [ "$(TEST_JOBS)" != 0 ]; then \
	  echo "$(BIN)/pytest -p no:xdist --no-cov -m serial"; $(BIN)/pytest -p no:xdist --no-cov -m serial; fi
	$(BIN)/pytest --no-cov --ds=tests.settings_no_agents tests/test_form_flow.py tests/test_admin.py onboarding/tests

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

# Refuses while the agents are on (docs/deployment.md, "Roll back"): AGENTS_ENABLED=false make rollback.
rollback: $(STAMP)
	$(BIN)/python manage.py rollback onboarding

# The deployment guide's "Migration Testing" on PostgreSQL (docs/deployment.md): a copy of a seeded database
# (or of SOURCE_DATABASE_URL) migrated, checked through the API, rolled back, migrated again, then dropped.
# Needs DATABASE_URL=postgres://... (its server holds the copies), pg_dump and psql.
.PHONY: migration-check
migration-check: $(STAMP)
	$(BIN)/python -m devtools.migration_check

# A staff user for the admin. With DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD set it
# asks nothing (Django's createsuperuser --noinput), otherwise it prompts.
superuser: $(STAMP)
	$(BIN)/python manage.py createsuperuser $(if $(DJANGO_SUPERUSER_PASSWORD),--noinput)

# Load benchmarks (bench/README.md): the standard scenario against the reference endpoint (~5 min), and the
# full matrix with the scale scenarios, each against the reference (about an hour).
bench: $(STAMP)
	$(BIN)/python bench/run.py --retries 0 --compare

bench-full: $(STAMP)
	$(BIN)/python bench/run.py --matrix full --compare

# The standard scenario through HAProxy to 3 instances of 2 workers, PgBouncer in front of PostgreSQL.
bench-cluster: $(STAMP)
	$(BIN)/python bench/run.py --retries 0 --instances 3 --workers 2

# The persona corpus walked through the chat on the offline engine (docs/conversation-quality.md):
# figures and targets printed, one transcript per persona in devtools/converse/out/.
converse: $(STAMP)
	$(BIN)/python -m devtools.converse

# The production entry point under slow clients: nginx (deploy/nginx.conf) in front of
# gunicorn (gunicorn.conf.py), 2,000 connections sending a byte every 2 s, on 127.0.0.1,
# about a minute. Needs nginx (apt-get install nginx-light). See docs/security.md, T14.
slowloris: $(STAMP)
	SHUREN_TEST_PROXY=1 $(BIN)/pytest -p no:cov -o addopts="" -q -s -m proxy tests/test_proxy.py

# Three instances (gunicorn.conf.py) behind HAProxy, PgBouncer (transaction pooling) in front of PostgreSQL,
# one Redis: the service is stateless across instances (tests/test_cluster.py, docs/deployment.md). Needs
# PostgreSQL (DATABASE_URL's server; the database <name>_cluster is created and dropped), Redis (CACHE_URL)
# and Debian's haproxy and pgbouncer. About a minute.
cluster-test: $(STAMP)
	SHUREN_TEST_CLUSTER=1 $(BIN)/pytest -p no:cov -o addopts="" -q -s -m cluster tests/test_cluster.py

# The long OpenAPI fuzz run (1000 examples per operation, random seed printed for replay).
fuzz: $(STAMP)
	$(BIN)/python devtools/scripts/fuzz_api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
