# Council Innovation Marketplace: the two commands a newcomer needs are `make run` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
ASSETS := marketplace/static/dist/application.css
FLASK := MARKETPLACE_ENV=development $(BIN)/flask --app marketplace
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install run serve test test-postgres lint db-upgrade demo assets bench-search bench-suggestions bench clean prod-local loadtest

install: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(ASSETS): $(NODE_STAMP) assets/application.scss scripts/build-assets.mjs marketplace/static/app.js
	npm run --silent build

assets: $(NODE_STAMP)
	npm run --silent build

db-upgrade: install
	$(FLASK) db upgrade

demo: db-upgrade
	$(FLASK) load-demo

## make run: install everything, migrate the SQLite database, load demo data once, serve on :5000
run: demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT) --no-reload

## make test: install everything and run the whole suite (SQLite; set TEST_DATABASE_URL for PostgreSQL)
test: install
	$(BIN)/ruff check marketplace tests migrations wsgi.py gunicorn.conf.py loadtest scripts
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check marketplace tests migrations wsgi.py gunicorn.conf.py loadtest scripts

## make bench-search: time the public challenge pages on 10,000 challenges (throwaway SQLite)
bench-search: install
	$(FLASK) bench-search $(BENCH_ARGS)

## make bench-suggestions: time the suggested suppliers page on 100,000 suppliers (throwaway SQLite)
bench-suggestions: install
	$(FLASK) bench-suggestions $(BENCH_ARGS)

## make bench: supplier-matching quality (dev set vs BM25/TF-IDF) and speed at 1k-100k suppliers
bench: install
	$(FLASK) bench-matching $(BENCH_ARGS)

## make faulttest: kill workers mid-bid, restart PostgreSQL, stop Redis, race submissions and
## awards against real gunicorn/PostgreSQL/Redis (tests/fault; stops the machine's PostgreSQL
## for ~4 s: FAULT_RESTART_POSTGRES=0 skips that)
.PHONY: faulttest
faulttest: install
	PYTEST_ARGS="$(PYTEST_ARGS)" scripts/faulttest.sh

## make prod-local: gunicorn + RQ worker + PostgreSQL + Redis with production settings and the
## scale data set on http://127.0.0.1:8000 (PROD_PORT, PROD_DATABASE, WEB_CONCURRENCY override)
prod-local: install
	scripts/prod-local.sh

## make loadtest: headless Locust mixed workload against prod-local (started if not running),
## prints p50/p95/p99 per endpoint and PASS/FAIL per target; exits 1 when a target is missed
loadtest: install
	scripts/loadtest.sh

clean:
	rm -rf $(VENV) node_modules marketplace/static/dist marketplace/static/govuk .pytest_cache
