# Two commands on a fresh machine with only Python 3.10+:  make reproduce   and   make test
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= standard
JOBS    ?= 1
ONLY    ?=
STAMP   := $(VENV)/.pain-lib-installed

.PHONY: help setup kernel data reproduce test lab lint index clean-results bench

help:
	@echo "make reproduce [PROFILE=tiny|standard|paper] [ONLY=glob] [JOBS=n]  run every registered notebook"
	@echo "make test      run the test suite (every notebook in the tiny profile included)"
	@echo "make lab       JupyterLab on notebooks/"
	@echo "make lint      ruff, and the layering contracts of .importlinter (import-linter)"
	@echo "make bench     benchmark scripts (print numbers)"

# Create the virtual environment if missing, install the project, register the kernel.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(MAKE) --no-print-directory kernel
	@touch $(STAMP)

setup: $(STAMP)

kernel:
	$(PY) -m ipykernel install --sys-prefix --name pain-lib --display-name "Python (pain-lib)" >/dev/null

# Generate (once) the synthetic datasets the registered notebooks need at this profile.
data: setup
	$(VENV)/bin/pain-lib data prepare --profile $(PROFILE)

reproduce: setup data
	$(VENV)/bin/pain-lib reproduce --profile $(PROFILE) --jobs $(JOBS) $(if $(ONLY),--only '$(ONLY)')

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks

lint: setup
	$(VENV)/bin/ruff check pain_lib tests bench
	$(VENV)/bin/lint-imports

index: setup
	$(VENV)/bin/pain-lib index

bench: setup
	$(PY) bench/preprocess.py
	$(PY) bench/models.py
