# Two commands from a clean clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEV_ENV := DEBUG=1

.PHONY: venv run test test-fast lint format bench bench-http clean migrate seed

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(DEV_ENV) $(PY) manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "  Admin:     http://127.0.0.1:8000/admin/"
	@echo "  API docs:  http://127.0.0.1:8000/api/docs/"
	@echo "  Logins:    root, acme.admin, acme.trader, acme.pm, acme.compliance, acme.ops,"
	@echo "             globex.admin, globex.seller, globex.ops, globex.compliance, initech.admin"
	@echo "  Password:  $${DEMO_PASSWORD:-demo-password}"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo ""
	$(DEV_ENV) OMS_SANDBOX_MARKETPLACES=1 CACHE_DIR=var/cache $(VENV)/bin/honcho -f Procfile start

# The suite in parallel (one process per core, at most 8; PYTEST_ARGS adds options), then the
# suites that start real Celery workers or restart Redis on their own (marker ``serial``).
test: venv
	$(VENV)/bin/pytest -n auto --maxprocesses 8 -m "not serial" $(PYTEST_ARGS)
	$(VENV)/bin/pytest -m serial $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark, one table + bench/results.json (QUICK=1: a smoke run; SUITES="a b": some).
bench: venv
	QUICK=$(QUICK) $(PY) -m bench $(SUITES)

# Needs PostgreSQL and Redis on 127.0.0.1 (see README, Benchmarks).
bench-http: venv
	$(PY) -m bench.http_orders $(BENCH_HTTP_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
