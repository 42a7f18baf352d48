# Threadline: `make run` serves on the embedded defaults, `make test` runs the whole suite.
# `make run HOST=0.0.0.0 PORT=9000` serves on another interface or port.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format check-migrations bench clean

# (Re)install when pyproject.toml changes; the editable install keeps `threadline` on PATH in the venv.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/threadline serve --host '$(HOST)' --port '$(PORT)'

lint: $(STAMP)
	$(BIN)/ruff check threadline tests bench migrations
	$(BIN)/ruff format --check threadline tests bench migrations
	$(BIN)/mypy threadline

format: $(STAMP)
	$(BIN)/ruff format threadline tests bench migrations
	$(BIN)/ruff check --fix threadline tests bench migrations

# Models and migrations must agree, on SQLite and (when configured) on PostgreSQL.
check-migrations: $(STAMP)
	$(BIN)/python scripts/check_migrations.py

# The suite runs on SQLite; when THREADLINE_TEST_DATABASE_URL / THREADLINE_TEST_REDIS_URL are set
# (as .ci/run sets them) it runs a second time on PostgreSQL + Redis. One worker per core
# (pytest-xdist): each worker has its own SQLite file or PostgreSQL schema and Redis prefix.
# `make test PYTEST_ARGS=tests/mes` runs a part of it.
PYTEST_ARGS ?=
PYTEST := $(BIN)/pytest -q -n auto --dist worksteal $(PYTEST_ARGS)
test: lint check-migrations
	env -u THREADLINE_TEST_DATABASE_URL -u THREADLINE_TEST_REDIS_URL $(PYTEST)
	if [ -n "$$THREADLINE_TEST_DATABASE_URL" ]; then $(PYTEST); fi

bench: $(STAMP)
	@echo "benchmarks: python -m bench.<name> --json (see docs/performance.md)"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
