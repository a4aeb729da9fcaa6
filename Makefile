# Set-up and the two everyday commands.  Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: demo test lint unit integration bench clean chromium

$(BIN)/grader: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/grader

# Grade the bundled example submissions.
demo: $(BIN)/grader
	$(BIN)/grader grade assignments/exp_decay/examples --out $(OUT) --lang en
	@echo "Open $(OUT)/index.html for the class report; per-student reports are in $(OUT)/submissions/."

# Lint, then every test (unit tests in milliseconds, integration tests with real kernels,
# reports opened in headless Chromium).
test: lint $(BIN)/grader chromium
	$(BIN)/pytest -q tests

# The browser tests use Debian's chromium (Playwright's own download does not work offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium >/dev/null; }

lint: $(BIN)/grader
	$(BIN)/ruff check grader tests bench
	$(BIN)/ruff format --check grader tests bench

unit: $(BIN)/grader
	$(BIN)/pytest -q tests/unit

integration: $(BIN)/grader
	$(BIN)/pytest -q tests/integration

bench: $(BIN)/grader
	$(BIN)/python bench/bench_batch.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
