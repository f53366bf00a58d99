# mutabik: `make run` starts everything locally, `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: setup run demo test lint typecheck unit integration e2e infra-lint bench build clean

setup: $(VENV)/.installed layers/core/mutabik/ubl/schemas/gib/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# GİB's XSDs and schematron go into the layer (ignored by git): from ../shared, else GİB's package.
layers/core/mutabik/ubl/schemas/gib/.installed: tools/gib_schemas.py | $(VENV)/.installed
	$(BIN)/python tools/gib_schemas.py
	touch $@

## run: the local runtime with the demo tenant; sends the sample order and keeps serving (ARGS=--once to exit)
run: setup
	$(BIN)/mutabik local $(ARGS)

## demo: the end-to-end demo once, on a free port; exits non-zero unless every document is final
demo: setup
	$(BIN)/mutabik local --once --port 0 --provider all --time-scale 0.1

## test: lint, types, then unit, integration and end-to-end tests (2 workers)
test: setup lint typecheck
	$(BIN)/pytest -n 2 -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit integration e2e: setup
	$(BIN)/pytest -q tests/$@

## infra-lint: sam validate --lint and the ASL validator, from their own tools environment (.tools/)
infra-lint:
	bash .ci/tools.sh lint

## bench: the benchmarks (figures as ratios to a baseline measured in the same run)
bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## build: sam build (needs python3.13 on PATH; pyenv has it)
build: setup
	PYENV_VERSION=3.13.0 bash .ci/tools.sh sam build

clean:
	rm -rf $(VENV) .tools .aws-sam .local .pytest_cache .mypy_cache .ruff_cache layers/core/mutabik/ubl/schemas/gib
