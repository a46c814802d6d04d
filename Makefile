# The two commands a newcomer types: `make demo` and `make test`.
# Each creates .venv on first use: torch==2.13.0 first (a CPU build; an unpinned
# torch pulls a multi-GB CUDA build), then semkit with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.semkit-installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: demo test lint bench eval venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

bench: $(STAMP)
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/crash.py

# Full-dataset quality runs (SciFact, STS-B in ../shared/data or $$SEMKIT_DATA): bench/results/quality.md
eval: $(STAMP)
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
