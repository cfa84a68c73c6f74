# Thin wrappers around the project's tools; see README.md.
# `make lab` and `make test` set everything up first (only when needed) and are all a new user types.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOPICS := $(sort $(notdir $(wildcard solutions/[0-9][0-9]_*)))
TEST_WORKERS ?= auto
# The course's networks are tiny: one thread per process is faster than several fighting over the
# cores (and makes results independent of the machine's core count).
export OMP_NUM_THREADS ?= 1
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-deps assignments execute grade bench help

help:
	@echo "make lab          set up if needed, open JupyterLab on notebooks/"
	@echo "make test         set up if needed, run the whole test suite"
	@echo "make assignments  regenerate notebooks/ (student versions) from solutions/"
	@echo "make execute      re-execute solutions/ to refresh their stored outputs"
	@echo "make grade TOPIC=01_tensors [SUBMISSIONS=lms.zip]   collect, autograde, feedback, export"
	@echo "make bench        time every notebook and the grading pipeline"

# The virtual environment, rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(STAMP)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

# System packages the browser tests need (Debian's Chromium); installs nothing when present.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup test-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

assignments: setup
	$(BIN)/python -m coursekit assignments $(TOPICS)

execute: setup
	$(BIN)/python -m coursekit execute $(TOPICS)

grade: setup
	$(BIN)/python -m utils.grading $(TOPIC) $(if $(SUBMISSIONS),--from $(SUBMISSIONS),) $(GRADE_ARGS)

bench: setup
	$(BIN)/python -m benchmarks.notebooks
	$(BIN)/python -m benchmarks.grading

# Mutation testing of the exercises' tests: reports in artifacts/mutation/ (MUTATE_ARGS="-k 20" samples).
mutate: setup
	$(BIN)/python -m coursekit mutate $(TOPICS) $(MUTATE_ARGS)
