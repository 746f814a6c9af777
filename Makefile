# Portcullis: `make run` serves the platform on http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install migrate bootstrap worker lint clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the declared dependencies change.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --no-input

bootstrap: migrate
	$(PY) manage.py bootstrap

# The web server with a Celery worker (and its embedded beat) beside it, under one supervisor that
# stops both cleanly on Ctrl-C or SIGTERM (iam_project/run.py). Mail links point at HOST:PORT unless
# IAM_SITE_URL is set.
run: bootstrap
	@echo "Console: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	@exec $(PY) -m iam_project.run --host $(HOST) --port $(PORT)

worker: install
	$(VENV)/bin/celery -A iam_project worker --beat --loglevel=INFO

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The layers of the code (pyproject.toml [tool.importlinter]): apps depend downward only.
lint: install
	$(VENV)/bin/lint-imports

# The schema fuzzer against a real server on PostgreSQL and Redis (DATABASE_URL, REDIS_URL); CI runs it.
.PHONY: fuzz
fuzz: install
	bash tests/fuzz/run.sh

clean:
	rm -rf $(VENV) var .pytest_cache
