# Agora: set-up, main job, tests and benchmarks. Everything runs from .venv.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= results

.PHONY: setup run test test-slow bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python
	@py=$$(scripts/find-python) && echo "using $$py" && $$py -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## The main job: reproduce the monopolist-intermediary paper (Table 1, Sections 3-5).
run: setup
	$(BIN)/agora reproduce monopolist-intermediary --out $(OUT)/monopolist-intermediary

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python -m pytest -q benchmarks --benchmark-only -m 'slow or not slow' -s

lint: setup
	$(BIN)/ruff check market agents protocols experiments tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .benchmarks
