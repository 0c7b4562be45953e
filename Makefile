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

test-unit: install ## fast tests only, no servers (doctests, unit, model)
	$(BIN)/pytest -q --doctest-modules src/movierecs --ignore=src/movierecs/ui/app.py
	$(BIN)/pytest -q tests/unit tests/model

stack-up: ## start the local stack (PostgreSQL, ClickHouse, Kafka broker, MLflow, Prometheus); writes .stack/env
	scripts/stack.sh up

stack-down: ## stop the local stack (by PID) and wipe its data
	scripts/stack.sh down

BENCH_SCALE ?= small
bench: install ## benchmarks behind docs/BENCHMARKS.md (BENCH_SCALE=small: minutes; full: issue #12 sizes, ~1 h)
	scripts/install-bench-tools.sh
	BENCH_SCALE=$(BENCH_SCALE) $(BIN)/python bench/run.py --scale $(BENCH_SCALE)

lint: install ## ruff + mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# --- Kubernetes (docs/deploy.md): Helm v4 and kubectl from .tools/bin (scripts/install-helm.sh) ---
KIND_CLUSTER ?= movierecs
IMAGE ?= movierecs:dev
CHART := charts/movierecs
OPERATORS_CHART := charts/movierecs-operators
HELM := .tools/bin/helm
KUBE := --kube-context kind-$(KIND_CLUSTER)

.PHONY: charts-lint cluster-up cluster-down

charts-lint: install ## Helm charts (movierecs, movierecs-operators): sync the DAG copy, lint --strict, render every profile, validate offline
	scripts/install-helm.sh --with-hadolint
	cp dags/*.py $(CHART)/files/dags/
	$(BIN)/pytest -q tests/charts

cluster-up: ## kind cluster + ingress-nginx + movierecs-operators + movierecs (+ Airflow with AIRFLOW=1; needs docker, kind and network)
	scripts/install-helm.sh
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER) --config kind-config.yaml
	kubectl --context kind-$(KIND_CLUSTER) apply -f manifests/namespaces.yaml
	kubectl --context kind-$(KIND_CLUSTER) apply -k manifests/kind
	kubectl --context kind-$(KIND_CLUSTER) -n ingress-nginx wait --for=condition=Ready pod \
	  -l app.kubernetes.io/component=controller --timeout=180s
	docker build -t $(IMAGE) .
	kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	cp dags/*.py $(CHART)/files/dags/
	$(HELM) dependency update $(OPERATORS_CHART)
	$(HELM) upgrade --install movierecs-operators $(OPERATORS_CHART) $(KUBE) -n movierecs-system \
	  --wait --timeout 15m
	$(HELM) upgrade --install movierecs $(CHART) $(KUBE) -n movierecs \
	  -f $(CHART)/values-kind.yaml --set image.repository=$(firstword $(subst :, ,$(IMAGE))) \
	  --set image.tag=$(lastword $(subst :, ,$(IMAGE)))
	$(if $(AIRFLOW),$(HELM) upgrade --install movierecs-airflow $(OPERATORS_CHART) $(KUBE) -n movierecs \
	  -f $(OPERATORS_CHART)/values-airflow.yaml --wait --timeout 15m)

cluster-down: ## delete the kind cluster (and everything in it: all three releases)
	kind delete cluster --name $(KIND_CLUSTER)
