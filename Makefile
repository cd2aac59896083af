# Linli: two commands from a fresh clone — `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format messages migrate seed clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The compiled catalogue is committed; recompile when gettext's msgfmt is available.
messages: install
	@if command -v msgfmt >/dev/null && find locale apps -name '*.po' 2>/dev/null | grep -q .; then \
	  $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var >/dev/null; \
	else echo "no catalogue to compile (or no msgfmt): using the committed locale/*.mo"; fi

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_roles
	$(BIN)/python manage.py setup_periodic_tasks

seed: migrate
	$(BIN)/python manage.py seed_demo --if-empty

run: messages seed
	bin/run

# Two pytest-xdist workers (each with its own test database and Redis database); at most 6,
# as workers use Redis databases 10 and up. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

test: messages
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/linli.sqlite3* var/celery var/media
