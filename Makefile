# Two commands: `make run` (try it locally) and `make test` (the suite). Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate worker web shell clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

## run: web + worker on local defaults (SQLite, embedded Redis, console SMS) or whatever .env sets
run: migrate
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker

web: migrate
	$(BIN)/gunicorn 'webhooks.app:create_app()' --bind 127.0.0.1:$${PORT:-8000} --reload

worker: migrate
	$(BIN)/python -m jobs.worker

## test: the whole suite (SQLite by default; TEST_DATABASE_URL=postgresql://… for PostgreSQL)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

clean:
	rm -rf $(VENV) .pytest_cache
