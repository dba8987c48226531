# Two commands for a new machine: `make run` and `make test`. Everything else is a building block.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := tracker

.PHONY: run test test-sqlite test-postgres install install-dev browser worker bench audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: create the virtualenv, install, migrate, load the demo clinics into an empty database, serve on 127.0.0.1:$(PORT)
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask tracker load-demo --if-empty
	TRACKER_BASE_URL=$${TRACKER_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## browser: Debian's chromium for the real-browser tests (Playwright drives it; it never downloads a browser)
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

## test: install what the tests need and run them all (SQLite; then PostgreSQL too when TEST_DATABASE_URL is set)
test: install-dev browser audit
	env -u TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then echo "== again on PostgreSQL: $$TEST_DATABASE_URL"; $(BIN)/pytest; fi

test-sqlite: install-dev
	env -u TEST_DATABASE_URL $(BIN)/pytest

test-postgres: install-dev
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/pytest

## audit: static security checks (bandit; findings fixed or justified in place), known vulnerabilities (pip-audit),
## and the layers of tracker/ (lint-imports: the contracts in .importlinter)
audit: install-dev
	$(BIN)/bandit -q -r tracker
	$(BIN)/lint-imports --no-cache
	$(BIN)/pip-audit -r requirements.txt --progress-spinner off

## worker: process photos from the Redis queue (needs REDIS_URL; the scheduler runs the retries of failed jobs)
worker: install
	$(BIN)/rq worker --with-scheduler --url "$${REDIS_URL:?set REDIS_URL}" tracker

## bench: benchmarks against baselines measured in the same run (prints name=value lines)
bench: install-dev
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
