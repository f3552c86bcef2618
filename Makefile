# Everything runs from a local virtualenv that the first target creates.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint unit screenshots bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,demo]'
	touch $(STAMP)

install: $(STAMP)

## The console on its embedded default: a throwaway PostgreSQL and a simulated fleet.
demo: $(STAMP)
	$(BIN)/novapool demo

# Real components for the live tests: Go database/sql with client_golang's collector (built
# offline from these) and postgres_exporter.
DEBIAN_COMPONENTS = golang-go golang-github-prometheus-client-golang-dev golang-github-lib-pq-dev \
	prometheus-postgres-exporter pgbouncer tmux

## Lint, then every test (real PostgreSQL and real Prometheus started by the fixtures).
test: lint
	./scripts/ensure-prometheus
	./scripts/ensure-debian $(DEBIAN_COMPONENTS)
	./scripts/ensure-pgbouncer-exporter
	./scripts/ensure-postgres
	$(BIN)/pytest $(PYTEST_ARGS)

## Unit and TUI tests only (no server started), on two workers: under a minute.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not live" -n 2 $(PYTEST_ARGS)

## Lint, format, types (strict) and the import layering contracts in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit

## Regenerate screenshots/*.svg from the same app factory the snapshot tests use.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

## Per-refresh cost against a real server with many backends; the console on 50 servers
## (see bench/README.md).
bench: $(STAMP)
	$(BIN)/python bench/refresh_cost.py
	$(BIN)/python bench/servers.py
	$(BIN)/python bench/servers.py --tmux
	$(BIN)/python bench/side_by_side.py --backends 100 1000 3000 --seconds 60 --fleet 200x5

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
