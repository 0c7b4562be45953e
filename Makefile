# MovieRecs — the entry points people need: `make demo`, `make test`, `make lint`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo test test-unit lint format stack-up stack-down bench

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the app and its test tools

$(VENV)/.installed: pyproject.toml constraints.txt scripts/bootstrap.sh
	scripts/bootstrap.sh

demo: install ## run the whole loop embedded (no servers): data, train, API on :8000, UI on :8501
	$(BIN)/movierecs demo

test: install ## everything: unit, contract, model, integration (starts/stops the local stack), charts, DAGs
	scripts/test.sh

test-unit: install ## fast tests only, no servers
	$(BIN)/pytest -q tests/unit tests/model

lint: install ## ruff + mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench
