# Commonplace: `make run` to try it, `make test` to check it. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SECRET := $(VENV)/.secret-key
HOST ?= 127.0.0.1
PORT ?= 8000
# `make test` runs the suite in this many pytest-xdist workers (`auto`: one per core), an idle
# worker taking tests queued for a busy one (worksteal: a few browser tests take 40-115 s, and
# the run ends when the last of them does); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
URL = http://$(HOST):$(PORT)

# `make run` serves the pages as production does (DEBUG off: the site's own 404/403/500
# pages, static files collected and served by WhiteNoise), over plain HTTP on this machine.
# SITE_URL is the address served: the Site record, emails and the demo logins use it.
RUN_ENV = DEBUG=false HTTPS=false SECRET_KEY="$$(cat $(SECRET))" SITE_URL=$(URL) \
	ALLOWED_HOSTS="$(HOST),127.0.0.1,localhost" ACCOUNT_EMAIL_VERIFICATION=optional
DEV_ENV = DEBUG=true SITE_URL=$(URL)

.PHONY: run dev test lint format bench migrate demo clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SECRET): | $(BIN)/python
	@$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(64))" > $@

run: $(STAMP) $(SECRET)
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	@echo "Commonplace is at $(URL)/ (log in at $(URL)/accounts/login/). DEBUG is off; 'make dev' keeps it on."
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The debug server: Django's debug pages, static files straight from static/, code reloading.
dev: $(STAMP)
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist worksteal)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmark from outside (bench/README.md): PostgreSQL (a throwaway database whose name
# says "bench"), gunicorn with DEBUG off, wrk, Chromium. `make bench ARGS=--quick` is under a
# minute; ARGS="--scale 10" builds the 1M background; ARGS=--help says the rest.
bench: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m bench $(ARGS)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
