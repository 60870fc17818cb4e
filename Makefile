# The two commands a newcomer needs: `make run` and `make test`. Both create or
# refresh the virtualenv in .venv first, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# make run listens on this machine only; HOST=0.0.0.0 opens it to the network (DEBUG on, public dev key).
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck migrate rollback fuzz bench bench-full converse slowloris clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# SHUREN_DEV_DEFAULTS turns on DEBUG and a throwaway secret key unless the
# environment or .env set them: `make run` is for development.
run: $(STAMP)
	SHUREN_DEV_DEFAULTS=1 $(BIN)/python manage.py migrate --noinput
	SHUREN_DEV_DEFAULTS=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

# The second run: the form flow with the agents app left out (tests/settings_no_agents.py).
test: lint typecheck
	$(BIN)/pytest
	$(BIN)/pytest --no-cov --ds=tests.settings_no_agents tests/test_form_flow.py tests/test_admin.py onboarding/tests

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

rollback: $(STAMP)
	$(BIN)/python manage.py rollback onboarding

# Load benchmarks (bench/README.md): the standard scenario against the reference endpoint (~5 min), and the
# full matrix with the scale scenarios, each against the reference (about an hour).
bench: $(STAMP)
	$(BIN)/python bench/run.py --retries 0 --compare

bench-full: $(STAMP)
	$(BIN)/python bench/run.py --matrix full --compare

# The persona corpus walked through the chat on the offline engine (docs/conversation-quality.md):
# figures and targets printed, one transcript per persona in devtools/converse/out/.
converse: $(STAMP)
	$(BIN)/python -m devtools.converse

# The production entry point under slow clients: nginx (deploy/nginx.conf) in front of
# gunicorn (gunicorn.conf.py), 2,000 connections sending a byte every 2 s, on 127.0.0.1,
# about a minute. Needs nginx (apt-get install nginx-light). See docs/security.md, T14.
slowloris: $(STAMP)
	SHUREN_TEST_PROXY=1 $(BIN)/pytest -p no:cov -o addopts="" -q -s -m proxy tests/test_proxy.py

# The long OpenAPI fuzz run (1000 examples per operation, random seed printed for replay).
fuzz: $(STAMP)
	$(BIN)/python devtools/scripts/fuzz_api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
