# The two commands: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo

.PHONY: demo test lint bench clean install-check chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# The chat templates TRL and axolotl ship, for the rendering tests: their template files
	@# only, so without their dependencies (torch and its CUDA build are gigabytes); and
	@# LLaMA-Factory's dataset code, run torch-free by tests/llamafactory_loader.py.
	$(BIN)/python -m pip install --quiet --no-deps 'trl>=1.0' 'axolotl>=0.12' \
		'llamafactory>=0.9.5,<0.10'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/callforge generate --tools templates/examples/tools.json --per-tool 60 --seed 7 --db $(DEMO)/callforge.duckdb
	$(BIN)/callforge stats --db $(DEMO)/callforge.duckdb
	$(BIN)/callforge export --db $(DEMO)/callforge.duckdb --out $(DEMO)/data --eval-fraction 0.1 --seed 7
	@echo "dataset: $(DEMO)/data/train.jsonl $(DEMO)/data/eval.jsonl $(DEMO)/data/manifest.json"

test: $(BIN)/.installed lint chromium
	$(BIN)/pytest -q

# The HTML report is tested in Debian's headless Chromium: installed here when missing
# (as root, as CI runs), so `make test` needs nothing else on a fresh Debian machine.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make test needs chromium (Debian: sudo apt-get install chromium)"; exit 1; fi; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# mypy reads the checkout as the installed package: callforge -> this folder
	@mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/callforge
	MYPYPATH=build/typecheck $(BIN)/mypy -p callforge.generator -p callforge.store -m callforge.cli
	@# import-linter reads the package's own folders under its import name (pyproject.toml)
	@mkdir -p build/layers/callforge && touch build/layers/callforge/__init__.py && \
	for part in cli.py generator store templates; do \
		ln -sfn ../../../$$part build/layers/callforge/$$part; done
	cd build/layers && PYTHONPATH=. ../../$(BIN)/lint-imports --no-cache ../../pyproject.toml

# A user's install: a plain (non-editable) pip install of this folder into a throwaway
# venv, then generate and export from another folder, with no checkout beside it.
install-check:
	@set -e; d=$$(mktemp -d); \
	$(PYTHON) -m venv $$d/venv; \
	$$d/venv/bin/python -m pip install --quiet $(CURDIR); \
	mkdir $$d/work; cp templates/examples/tools.json $$d/work/my_tools.json; cd $$d/work; \
	$$d/venv/bin/callforge --version; \
	$$d/venv/bin/callforge generate --tools my_tools.json --per-tool 3 --db x.duckdb; \
	$$d/venv/bin/callforge export --db x.duckdb --out data; \
	test -s data/train.jsonl && test -s data/manifest.json; \
	! $$d/venv/bin/python -c "import generator" 2>/dev/null; \
	echo "install-check: plain install generated and exported from $$d/work"; rm -rf $$d

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) $(DEMO) build .pytest_cache .mypy_cache .ruff_cache
