# Two commands: `make run` (try it locally) and `make test` (the suite). Both install what they need.
# Python 3.11-3.13: PYTHON=python3.13 VENV=.venv313 make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NO_WHEEL := Installing the locked packages failed (above). Every one is a prebuilt wheel for Linux and macOS \
	(x86-64, ARM64) on Python 3.11-3.13, so no C compiler is needed: check the Python version and the network. \
	(The embedded Redis of make run is one of them; with REDIS_URL set to a Redis you run, it is not used.)

.PHONY: run test install lock check-lock migrate worker web shell lint clean import-v3

## install: the virtualenv from the lock (exact versions, hashes checked, wheels only: nothing is compiled)
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "multisms needs Python 3.11 or later; $(BIN)/python is $$($(BIN)/python -V). Use PYTHON=python3.12 VENV=.venv312 make ..." >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --only-binary=:all: -r requirements-dev.txt || { echo "$(NO_WHEEL)" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP)

## lock: recompile requirements*.txt from requirements*.in for Python 3.11-3.13 (UPGRADE=1: newest allowed)
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		$(if $(UPGRADE),--upgrade) requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		$(if $(UPGRADE),--upgrade) requirements-dev.in -o requirements-dev.txt
	$(BIN)/python scripts/check_lock.py --stamp

## check-lock: the lock still matches requirements*.in (offline: nothing is resolved again)
check-lock: $(STAMP)
	$(BIN)/python scripts/check_lock.py

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

## run: web + worker on local defaults (SQLite, embedded Redis, console SMS) or whatever .env sets.
## Without Slack settings, web + worker run in the background (log: data/run.log) and you get the
## terminal chat; leaving it (quit, Ctrl-D or Ctrl-C) stops them. The embedded Redis stops with them.
run: migrate
	@trap '$(BIN)/python -m multisms.embedded_redis stop >/dev/null' EXIT; \
	if $(BIN)/python -c 'import sys; from multisms.config import get_settings; sys.exit(not get_settings().slack_configured)'; then \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker; \
	else \
		mkdir -p data; \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker >data/run.log 2>&1 & \
		honcho=$$!; trap 'kill $$honcho 2>/dev/null; wait $$honcho 2>/dev/null; $(BIN)/python -m multisms.embedded_redis stop >/dev/null' EXIT; trap 'true' INT; \
		echo "Slack is not configured: web (port $${PORT:-8000}) and worker run in the background, log in data/run.log."; \
		$(BIN)/python -m bot.shell; \
	fi

web: migrate
	$(BIN)/gunicorn 'webhooks.app:create_app()' --bind 127.0.0.1:$${PORT:-8000} --reload

worker: migrate
	$(BIN)/python -m jobs.worker

## import-v3: DB=path/to/old/app.db → the old app's (ver3.x) history into DATABASE_URL; DRY_RUN=1 only reports
import-v3: $(STAMP)
	@test -n "$(DB)" || { echo "usage: make import-v3 DB=path/to/old/app.db [DRY_RUN=1]" >&2; exit 2; }
	$(BIN)/python scripts/import_v3.py "$(DB)" $(if $(DRY_RUN),--dry-run)

## test: the whole suite (SQLite by default; TEST_DATABASE_URL=postgresql://… for PostgreSQL)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

## lint: ruff and the import contracts (pyproject.toml holds the settings of both)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache

.PHONY: browser docs release

## browser: Debian's chromium for the web panel's browser test (Playwright drives it; no browser download)
browser:
	scripts/install_chromium.sh

## docs: regenerate docs/api.md from the OpenAPI document (webhooks/api/: routes and pydantic models)
docs: $(STAMP)
	$(BIN)/python scripts/build_api_docs.py

## release: TAG=v1.2.0 → release/dist/$(TAG)/, its MANIFEST.sha256 and release/dist/$(TAG).tar.gz
release:
	@test -n "$(TAG)" || { echo "usage: make release TAG=v1.2.0" >&2; exit 2; }
	PYTHON=$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) scripts/prepare_release_bundle.sh "$(TAG)"
