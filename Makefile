# drTranscribe — the targets a newcomer can guess.
UV ?= uv
PORT ?= 8000

.PHONY: install run test lint typecheck bench schemas verify extension load

install:  ## create .venv with the locked dependencies
	$(UV) sync --frozen

run: install  ## run the service with the offline default (local Whisper, embedded Redis, local disk)
	$(UV) run --frozen drtranscribe serve --port $(PORT)

test: install  ## the whole test suite
	$(UV) run --frozen pytest -q

verify: install  ## the verification list against real processes: a pass/fail table
	$(UV) run --frozen python scripts/verify.py

lint: install
	$(UV) run --frozen ruff check src devtools tests bench scripts fuzz locustfile.py
	$(UV) run --frozen ruff format --check src devtools tests bench scripts fuzz locustfile.py
	$(UV) run --frozen mypy

load: install  ## capacity of one process: a fake provider, the service and a headless locust run
	$(UV) run --frozen python bench/load.py

extension: install  ## the Chrome extension for Meet, loadable unpacked (build/extension) and zipped (dist/)
	$(UV) run --frozen python -m devtools.extension build
	$(UV) run --frozen python -m devtools.extension zip

schemas: install  ## regenerate the JSON Schemas in docs/
	$(UV) run --frozen python -m devtools.docs_gen

bench: install
	$(UV) run --frozen python bench/stream_latency.py
