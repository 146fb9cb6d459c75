# Two commands: `make run` (try it locally) and `make test` (the suite). Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate worker web shell lint clean import-v3

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

## run: web + worker on local defaults (SQLite, embedded Redis, console SMS) or whatever .env sets.
## Without Slack settings, web + worker run in the background (log: data/run.log) and you get the
## terminal chat; leaving it (quit, Ctrl-D or Ctrl-C) stops them.
run: migrate
	@if $(BIN)/python -c 'import sys; from multisms.config import get_settings; sys.exit(not get_settings().slack_configured)'; then \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker; \
	else \
		mkdir -p data; \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker >data/run.log 2>&1 & \
		honcho=$$!; trap 'kill $$honcho 2>/dev/null; wait $$honcho 2>/dev/null' EXIT; trap 'true' INT; \
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
