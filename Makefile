# One setup command (`make setup`), the demo and the test suite. Setup is fast when already done.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint ui bench

setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/media-assets demo --out ./media_data

test: setup
	$(PY) -m pytest -n 2 --dist loadfile --max-worker-restart 4 -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

ui: setup
	$(VENV)/bin/media-assets ui

bench: setup
	bash benchmarks/run_all.sh
