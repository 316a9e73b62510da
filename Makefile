# Touchpoint: `make demo` to try it, `make test` to check it. Both set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# ML=1 adds the `ml` extra (sentence embeddings for the bot and knowledge search); torch goes in first,
# as its CPU build, so pip never reaches for a multi-GB CUDA one.
ML ?= 0

.PHONY: install demo serve test test-sqlite test-postgres lint bench openapi clean

$(BIN)/touchpoint: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.ml: $(BIN)/touchpoint
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,ml]'
	touch $@

install: $(BIN)/touchpoint $(if $(filter 1,$(ML)),$(VENV)/.ml)

demo: install
	$(BIN)/touchpoint migrate --noinput -v 0
	$(BIN)/touchpoint demo
	$(BIN)/touchpoint serve

serve: install
	$(BIN)/touchpoint migrate --noinput -v 0
	$(BIN)/touchpoint serve

test: lint test-sqlite test-postgres

lint: install
	$(BIN)/ruff check src tests bench

test-sqlite: install
	$(BIN)/pytest $(PYTEST_ARGS)

# PostgreSQL: the same suite again. Skipped on a laptop without the server; a failure under CI=true.
test-postgres: install
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is not reachable at $(PG_URL)"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_URL): skipping the PostgreSQL run"; fi

bench: install
	$(BIN)/python bench/inbox.py

openapi: install
	$(BIN)/touchpoint export_openapi > docs/openapi.json

clean:
	rm -rf $(VENV) var
