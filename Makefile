# Agora: set-up, main job, tests and benchmarks. Everything runs from .venv.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= results

.PHONY: setup chromium run test test-slow bench lint clean

setup: $(STAMP) chromium

$(STAMP): pyproject.toml scripts/find-python
	@py=$$(scripts/find-python) && echo "using $$py" && $$py -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## Debian's Chromium for the dashboard's browser tests (playwright cannot download a browser here).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "warning: the dashboard's browser tests need Debian's chromium at $(CHROMIUM);" \
		     "install it with 'sudo apt-get install chromium' (or run make setup as root)" >&2; \
	fi

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
	$(BIN)/ruff check agora market agents protocols models experiments tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .benchmarks
