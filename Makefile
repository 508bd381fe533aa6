# The two front doors: `make demo` and `make test`. Everything runs from a local .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= demo.duckdb
STAMP := $(VENV)/.installed

.PHONY: demo test lint wheel-check bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	@echo "== ingest the bundled fixtures (a few of their records are malformed on purpose: they show the quarantine)"
	$(BIN)/agentprof ingest --db $(DEMO_DB) fixtures/otlp fixtures/realdata fixtures/diagnose \
		fixtures/claude_code fixtures/codex fixtures/api_logs fixtures/usage_reports
	@echo "== diagnose: where the money and the time went, and the lever that saves most"
	$(BIN)/agentprof diagnose --db $(DEMO_DB) --sort saving --limit 5
	$(BIN)/agentprof report --db $(DEMO_DB) -o demo-report.html
	@echo "== next: open demo-report.html in a browser (it works offline); then try"
	@echo "   $(BIN)/agentprof sessions --db $(DEMO_DB)            # conversations and their turns"
	@echo "   $(BIN)/agentprof diagnose RUN_ID --db $(DEMO_DB)     # one run in depth (any id prefix)"
	@echo "   $(BIN)/agentprof ingest ~/.claude/projects --db mine.duckdb   # your own sessions"

# Two workers (one per core here, at most four elsewhere), each taking whole test files so a
# file's module fixtures (a chdb table, an ingested database) are built once: 8 min 51 s -> 5 min
# 15 s on 2 cores.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff format --check agentprof tests bench
	$(BIN)/ruff check agentprof tests bench
	$(BIN)/mypy

# Build the wheel and run it from a fresh virtual environment outside the checkout, so that
# queries/ and reports/ are proven to ship inside it.
wheel-check: $(STAMP)
	rm -rf dist /tmp/agentprof-wheel-check
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	$(PYTHON) -m venv /tmp/agentprof-wheel-check
	/tmp/agentprof-wheel-check/bin/python -m pip install --quiet dist/agentprof-*.whl
	cd /tmp && /tmp/agentprof-wheel-check/bin/agentprof ingest --db /tmp/agentprof-wheel-check/w.duckdb $(CURDIR)/fixtures/otlp/genai_current.json
	cd /tmp && /tmp/agentprof-wheel-check/bin/agentprof runs --db /tmp/agentprof-wheel-check/w.duckdb --json | grep -q '"ticks"'
	@echo "wheel-check: ok"

# A longer mutation campaign than the one in `make test` (tests/test_fuzz.py); the inputs of a
# failing batch are kept in fuzz-failures/. FUZZ_CASES and FUZZ_SEED pick its size and seed.
FUZZ_CASES ?= 20000
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz_ingest --cases $(FUZZ_CASES) --seed $(FUZZ_SEED) --budget 3600 --keep fuzz-failures

bench: $(STAMP)
	$(BIN)/python bench/bench_ingest.py

clean:
	rm -rf $(VENV) dist build *.duckdb *.duckdb.wal demo-report.html .pytest_cache .mypy_cache .ruff_cache
