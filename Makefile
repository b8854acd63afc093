# The two commands: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/callforge generate --tools templates/examples/tools.json --per-tool 60 --seed 7 --db $(DEMO)/callforge.duckdb
	$(BIN)/callforge stats --db $(DEMO)/callforge.duckdb
	$(BIN)/callforge export --db $(DEMO)/callforge.duckdb --out $(DEMO)/data --eval-fraction 0.1 --seed 7
	@echo "dataset: $(DEMO)/data/train.jsonl $(DEMO)/data/eval.jsonl $(DEMO)/data/manifest.json"

test: $(BIN)/.installed lint
	$(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy generator store cli.py

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
