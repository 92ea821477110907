# flopsheet: `make estimate` and `make test` each set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INPUT ?= data/raw/systems.csv
OUTPUT_DIR ?= data/processed

.DEFAULT_GOAL := help
.PHONY: help install estimate refresh report test check lint format docs bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install flopsheet with its test tools

estimate: $(STAMP) ## Estimate the default spreadsheet into data/processed/
	$(BIN)/flopsheet estimate $(INPUT) --output-dir $(OUTPUT_DIR)

refresh: $(STAMP) ## Unattended refresh of OUTPUT_DIR from INPUT: skip if unchanged, else publish atomically
	$(BIN)/flopsheet refresh $(INPUT) --output-dir $(OUTPUT_DIR) $(REFRESH_FLAGS)

report: $(STAMP) ## HTML report (and PNG/SVG charts) of OUTPUT_DIR's database; estimates INPUT first if it has none
	@test -e $(OUTPUT_DIR)/compute.duckdb || $(MAKE) --no-print-directory estimate
	$(BIN)/flopsheet report --db $(OUTPUT_DIR)/compute.duckdb --out $(OUTPUT_DIR)/report

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## Ruff: lint and formatting check
	$(BIN)/ruff check pipeline schemas tests benchmarks
	$(BIN)/ruff format --check pipeline schemas tests benchmarks

format: $(STAMP) ## Ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix pipeline schemas tests benchmarks
	$(BIN)/ruff format pipeline schemas tests benchmarks

check: lint test ## Lint, then the tests

docs: $(STAMP) ## Regenerate docs/cli.md from the commands' --help
	$(BIN)/python -m pipeline.cli.reference > docs/cli.md

# The benchmark times flopsheet as `pip install .` gives it to users (compiled, without the
# test tools), from its own environment, reinstalled from the working tree each time.
BENCH_VENV := bench/venv

bench: $(STAMP) ## Time and memory of estimate against a naive script, 1k to 1M rows (BENCH_ROWS=10000000 adds 10M)
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet .
	rm -rf build  # setuptools keeps modules the tree no longer has in build/lib
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	FLOPSHEET=$(BENCH_VENV)/bin/flopsheet $(BIN)/python benchmarks/bench.py

clean: ## Remove outputs and the virtual environment
	find data/processed -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf $(VENV) bench/ build/
