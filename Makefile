# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out/demo
DEMO_CANDIDATE ?= demo-candidate

.PHONY: setup engine engine-stop demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Start a Docker engine if none answers (installs docker.io when missing; needs root),
# then build the offline stand-in base images. Tolerated to fail outside CI: the Docker
# tests then skip, unless GRADER_REQUIRE_DOCKER=1 makes them fail.
engine:
	bash sandbox/engine.sh start && bash sandbox/bootstrap-base-images.sh

engine-stop:
	bash sandbox/engine.sh stop

# The demo: a candidate packet and key, then the reference cohort graded on fresh seeds
# (Docker backend when an engine can be started, else the local one) and its reports and
# leaderboard rendered. Stops the Docker engine again if it started it.
DEMO_ROWS ?= 30000
DEMO_VARIANTS ?= strong leaky minimal broken-serving
DEMO_JOBS ?= 2
demo: setup
	@set -e; rm -rf $(OUT); mkdir -p $(OUT); \
	started=0; bash sandbox/engine.sh status >/dev/null 2>&1 || started=1; \
	if bash sandbox/engine.sh start && bash sandbox/bootstrap-base-images.sh; then backend=docker; \
	else echo "no Docker engine could be started: grading with the local backend"; backend=local; started=0; fi; \
	trap '[ "$$started" = 1 ] && bash sandbox/engine.sh stop || true' EXIT; \
	$(VENV)/bin/grader packet $(DEMO_CANDIDATE) --demo-secret --out $(OUT)/packet; \
	$(VENV)/bin/grader key $(DEMO_CANDIDATE) --demo-secret --out $(OUT)/key; \
	mkdir -p $(OUT)/submissions; \
	for variant in $(DEMO_VARIANTS); do cp -r reference/$$variant $(OUT)/submissions/demo-$$variant; done; \
	echo; echo "== grading the reference cohort ($(DEMO_VARIANTS)) on fresh seeds ($(DEMO_ROWS) rows, $$backend backend)"; \
	$(VENV)/bin/grader grade $(OUT)/submissions --demo-secret --rows $(DEMO_ROWS) --backend $$backend \
	  --jobs $(DEMO_JOBS) --out $(OUT)/REPORTS; \
	echo; echo "packet (what the candidate gets): $(OUT)/packet"; \
	echo "key (grader only):                 $(OUT)/key"; \
	echo "evidence per submission:           $(OUT)/REPORTS/_graded/<candidate>/evidence.json"; \
	echo "reports:                           $(OUT)/REPORTS/<candidate>/report.html"; \
	echo "leaderboard:                       $(OUT)/REPORTS/leaderboard.html"

test: setup
	-@$(MAKE) --no-print-directory engine
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: setup
	$(PY) benchmarks/bench_world.py
	$(PY) benchmarks/bench_grade_overhead.py
	$(PY) benchmarks/bench_probe.py

clean:
	rm -rf out .pytest_cache
