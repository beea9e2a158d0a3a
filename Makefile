# One setup command (`make setup`), the demo and the test suite. Setup is fast when already done.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint ui bench screenshots

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

# Chromium screenshots of the UI views with their checks (scripts/ui_screenshots.py); writes ./ui_screenshots/.
screenshots: setup
	$(VENV)/bin/python -m pip install -q "playwright>=1.45"
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(VENV)/bin/python scripts/ui_screenshots.py --out ui_screenshots
