# `make run` sets everything up and starts the studio; `make test` sets up and runs the suite.
# Each step is stamped, so a second run only redoes what changed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.tunewright-deps
VENDOR_STAMP := static/vendor/.tunewright-vendor
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (0: one process). Two on our 2-core machines: much of the suite waits on
# servers, browsers and training children. Files stay whole on one worker (--dist loadfile).
TEST_WORKERS ?= 2

.PHONY: run test reliability setup model bench-list clean-vendor

run: model
	bash scripts/setup_sandbox.sh
	$(PY) flask_app.py

test: model
	bash scripts/setup_browser.sh
	bash scripts/setup_sandbox.sh
	bash scripts/setup_redis.sh
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=30 --ignore=tests/reliability $(PYTEST_ARGS)

# The fault and load suites (issue 23): minutes of real servers, trainings and clients, real faults (kills, a
# memory limit, a full tmpfs: mounting it needs root, skipped with the reason otherwise, a locked database);
# .ci/run runs it after `make test`. One process: the load test measures, so nothing of ours may run beside it.
reliability: model
	bash scripts/setup_sandbox.sh
	bash scripts/setup_redis.sh
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests/reliability $(PYTEST_ARGS)

setup: $(DEPS_STAMP) $(VENDOR_STAMP)
	@bash scripts/fetch_llama_tools.sh $(VENV)

$(DEPS_STAMP): requirements.txt requirements-bundled.txt requirements-gpu.txt constraints.txt pyproject.toml scripts/setup_python.sh
	bash scripts/setup_python.sh $(VENV)
	touch $@

$(VENDOR_STAMP): package.json package-lock.json scripts/vendor_assets.sh
	bash scripts/vendor_assets.sh
	touch $@

# Converts the bundled SmolLM2 GGUF to safetensors once (~1 min); instant afterwards.
model: setup
	HF_HUB_OFFLINE=1 $(PY) -m flask --app flask_app prepare-model

clean-vendor:
	rm -rf static/vendor node_modules
