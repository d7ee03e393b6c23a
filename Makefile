# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out/demo
DEMO_CANDIDATE ?= demo-candidate

.PHONY: setup engine engine-stop demo test fresh-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The system packages (sandbox/system-packages.sh), a Docker engine, the offline stand-in base
# images: step by step, naming the step that fails (sandbox/prepare-machine.sh).
engine:
	bash sandbox/prepare-machine.sh

engine-stop:
	bash sandbox/engine.sh stop

# The demo: a candidate packet and key, then the reference cohort graded on fresh seeds and
# its reports and leaderboard rendered (sandbox/demo.sh). DEMO_BACKEND=auto takes the docker
# backend, and the local one only when no Docker engine can run at all; DEMO_BACKEND=local
# grades on the local backend. Stops the Docker engine again if it started it.
DEMO_ROWS ?= 30000
DEMO_VARIANTS ?= strong leaky minimal broken-serving
DEMO_JOBS ?= 2
DEMO_BACKEND ?= auto
demo: setup
	@OUT=$(OUT) DEMO_CANDIDATE=$(DEMO_CANDIDATE) DEMO_ROWS=$(DEMO_ROWS) DEMO_VARIANTS="$(DEMO_VARIANTS)" \
	  DEMO_JOBS=$(DEMO_JOBS) DEMO_BACKEND=$(DEMO_BACKEND) bash sandbox/demo.sh

# Lint, format and type checks first (ruff check, ruff format --check, mypy: each failure names
# its tool), then pytest. Without an engine the Docker tests skip, unless GRADER_REQUIRE_DOCKER=1
# (set by .ci/run) makes them fail; a machine that cannot be prepared says which step failed.
test: setup
	@$(PY) -m ruff check . || { echo "make test: ruff check (lint) failed"; exit 1; }
	@$(PY) -m ruff format --check . || { echo "make test: ruff format --check failed (run ruff format)"; exit 1; }
	@$(PY) -m mypy || { echo "make test: mypy (type check) failed"; exit 1; }
	-@bash sandbox/prepare-machine.sh --with-tests
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# Removes what the project installed and cached on this machine, then times `make demo` and
# `make test` from a clean clone of HEAD (sandbox/fresh-machine.sh; destructive: asks first).
fresh-check:
	bash sandbox/fresh-machine.sh

bench: setup
	$(PY) benchmarks/bench_world.py
	$(PY) benchmarks/bench_grade_overhead.py
	$(PY) benchmarks/bench_probe.py

clean:
	rm -rf out .pytest_cache
