# Every target creates the virtual environment and installs the pinned dependencies first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY313 ?= $(shell command -v python3.13 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -1)
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(CURDIR)/layers/shared:$(CURDIR)

.PHONY: install test lint typecheck unit start invoke key revoke-key events openapi build clean

$(STAMP): requirements/dev.lock.txt layers/shared/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.lock.txt
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sam validate --lint --template template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m devtools.openapi --check
	$(BIN)/pytest

test: lint typecheck unit

events: $(STAMP)
	$(BIN)/python -m devtools.events

openapi: $(STAMP)
	$(BIN)/python -m devtools.openapi --write

key: $(STAMP)
	$(BIN)/python -m devtools.keys create --tenant "$(TENANT)"

revoke-key: $(STAMP)
	$(BIN)/python -m devtools.keys revoke --key "$(KEY)"

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
