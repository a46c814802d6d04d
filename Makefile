# The two commands a newcomer types: `make demo` and `make test`.
# Each creates .venv on first use: torch==2.13.0 first (a CPU build; an unpinned
# torch pulls a multi-GB CUDA build), then semkit with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.semkit-installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: demo test lint bench bench-large bench-serve bench-serve-venv eval venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

# Benchmarks (data: ../shared/data or $$SEMKIT_DATA): tables in bench/results/*.md and .json.
# `make bench` takes about an hour on 2 cores; `make bench-large` (1M vectors, every ANN
# library) several more.
bench: $(STAMP)
	$(BIN)/python bench/embedding.py --ndcg
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/crash.py
	$(BIN)/python bench/search.py scifact
	$(BIN)/python bench/search.py filtered
	$(BIN)/python bench/search.py overhead --n 100000
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/lexical.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/classify.py

bench-large: $(STAMP)
	$(BIN)/python bench/search.py million
	$(BIN)/python bench/search.py overhead --n 1000000
	$(BIN)/python bench/ann_libraries.py
	$(BIN)/python bench/ann_libraries.py --sizes 1000000 --no-scifact --name ann_libraries_1m
	$(BIN)/python bench/finetune.py

# semkit serve vs infinity-emb vs a naive wrapper (bench/results/serve.md). infinity-emb is
# no semkit dependency: it gets its own venv, .venv-infinity, which bench/serve.py looks for.
bench-serve-venv:
	test -x .venv-infinity/bin/python || $(PYTHON) -m venv .venv-infinity
	.venv-infinity/bin/python -m pip install -q torch==2.13.0
	.venv-infinity/bin/python -m pip install -q 'infinity-emb[server,torch,optimum]==0.0.78'

bench-serve: $(STAMP)
	$(BIN)/python bench/serve.py

# Full-dataset quality runs (SciFact, STS-B in ../shared/data or $$SEMKIT_DATA): bench/results/quality.md
eval: $(STAMP)
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) .venv-infinity build src/*.egg-info .pytest_cache .ruff_cache
