# Thin wrappers around the project's tools; see README.md.
# `make lab` and `make test` set everything up first (only when needed) and are all a new user types.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Which assignments of solutions/ `make assignments|execute|mutate` process (TOPICS="ps1 03_x"); empty: every
# assignment (any folder of solutions/, every notebook in it), for mutate every course topic (NN_name).
TOPICS :=
TEST_WORKERS ?= auto
# The course's networks are tiny: one thread per process is faster than several fighting over the
# cores (and makes results independent of the machine's core count).
export OMP_NUM_THREADS ?= 1
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: formgrader setup lock lab lab-instructor test test-fast test-numerics test-deps assignments execute grade bench student-bundle help

help:
	@echo "make lab          set up if needed, open JupyterLab on notebooks/ (student view)"
	@echo "make lab-instructor  JupyterLab on the course root with nbgrader's Formgrader"
	@echo "make test         set up if needed, run the whole test suite"
	@echo "make test-fast    library unit tests and static checks (no notebook runs, < 1 min)"
	@echo "make test-numerics  notebook checks under every numeric setting of the CPU (about 8 min)"
	@echo "make student-bundle  dist/student-bundle.zip: notebooks, utils, environment, student README"
	@echo "make lock         rewrite requirements.lock from .venv after changing a pin"
	@echo "make assignments [TOPICS=...]  regenerate notebooks/ (student versions) from solutions/"
	@echo "make execute [TOPICS=...]      re-execute solutions/ to refresh their stored outputs"
	@echo "make grade TOPIC=01_tensors [SUBMISSIONS=lms.zip]   collect, autograde, feedback, export"
	@echo "make formgrader   JupyterLab on nbgrader's Formgrader (review, manual grades)"
	@echo "make bench        time every notebook and the grading pipeline"

# The virtual environment, rebuilt only when the pins change: pyproject.toml holds the direct pins,
# requirements.lock the whole transitive set (constraints, so platform-only packages may be absent).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	$(BIN)/python -m coursekit.warm install   # the python3-warm kernelspec (coursekit/warm/)
	$(BIN)/python -m utils._setup_hint install  # a cell run before the setup cell says so (utils/_setup_hint.py)
	touch $@

setup: $(STAMP)

# After changing a pin in pyproject.toml: `make setup` with the old lock fails on the conflict, so
# install the new pin first, then rewrite the lock from what is installed.
lock:
	$(BIN)/pip install --quiet -e ".[test]"
	{ sed -n '1,3p' requirements.lock; $(BIN)/pip freeze --exclude-editable --all \
	  | grep -v -E '^(#|-e |pytorch-nn-course==|pip==|setuptools==|wheel==)' \
	  | sed -E 's/\+[A-Za-z0-9.]+$$//' | LC_ALL=C sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	touch $(STAMP)

# Students: the notebooks, without nbgrader's instructor panels (etc/jupyter-student/README.md).
lab: setup
	JUPYTER_CONFIG_PATH=$(CURDIR)/etc/jupyter-student $(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

# Instructors: the course root, with Formgrader and Create Assignment.
lab-instructor: setup
	$(BIN)/jupyter lab $(ROOT_FLAG)

# System packages the tests need (Debian's Chromium for the browser tests, bubblewrap for the grading
# sandboxes); installs nothing when present.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v bwrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }

# The notebook checks first under another numeric path of the CPU (no SIMD), then everything natively.
test: setup test-deps
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -q solutions
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The notebook checks and the graded thresholds' margins under every numeric setting against the same
# stored outputs: vector width (default = no SIMD, avx2, the machine's own), 2 torch threads instead of
# one (the notebooks' setup_notebook reads COURSE_THREADS), 2 OpenMP threads, and MKL's reproducible mode.
# Each is one full pass over solutions/ (about a minute on 2 cores).
NUMERIC_SETTINGS := ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2 NATIVE=1 COURSE_THREADS=2 OMP_NUM_THREADS=2 MKL_CBWR=COMPATIBLE
test-numerics: setup
	@for s in $(NUMERIC_SETTINGS); do \
	  echo "== $$s"; \
	  env $$s $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -q -p no:randomly \
	    solutions tests/content/test_thresholds.py || exit 1; \
	done

# The library's unit tests and the static checks of the course: no notebook is executed (nbval
# collects only .ipynb files, and there are none below tests/unit and tests/content).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser" -n 0 -q tests/unit tests/content

assignments: setup
	$(BIN)/python -m coursekit assignments $(TOPICS)

execute: setup
	$(BIN)/python -m coursekit execute $(TOPICS)

grade: setup
	$(BIN)/python -m coursekit grade $(TOPIC) $(if $(SUBMISSIONS),--from $(SUBMISSIONS),) $(GRADE_ARGS)

# Instructors: Formgrader (the environment's tools found without activation; a half-made gradebook repaired).
formgrader: setup
	$(BIN)/python -m coursekit.grading.formgrader $(ROOT_FLAG)

bench: setup
	$(BIN)/python -m coursekit bench

# What students get: notebooks/, utils/, the environment files and the student part of the README.
student-bundle: setup
	$(BIN)/python -m coursekit student-bundle dist/student-bundle.zip

# Mutation testing of the exercises' tests: reports in artifacts/mutation/ (MUTATE_ARGS="-k 20" samples).
mutate: setup
	$(BIN)/python -m coursekit mutate $(TOPICS) $(MUTATE_ARGS)
