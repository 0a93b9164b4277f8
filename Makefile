# Two commands on a fresh machine with only Python 3.10+:  make reproduce   and   make test
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
JOBS    ?= 1
ONLY    ?=
STAMP   := $(VENV)/.pain-lib-installed
# The exact versions (with hashes) that every machine installs; `make lock` regenerates it.
LOCK    := requirements/lock.txt
# The book's extra (Sphinx, myst-nb, sphinx-book-theme, MathJax), locked apart so that `make test`
# and `make reproduce` never install it; every package it shares with $(LOCK) has the same pin.
BOOK_LOCK  := requirements/book-lock.txt
BOOK_STAMP := $(VENV)/.pain-lib-book-installed
# `make lock`: the uv release that writes the lock, the index its hashes come from, UPGRADE=1
# to move every pin to the newest release that fits (else existing pins are kept).
UV_VERSION ?= 0.13.9
LOCK_INDEX ?= https://pypi.org/simple
UPGRADE    ?=

# Default profile: `full` on a machine with CUDA (once pain_lib/config.py defines it), else
# `standard`; PROFILE=... on the command line wins. Evaluated once, when first needed (after
# setup has installed the project).
ifeq ($(origin PROFILE), undefined)
PROFILE = $(eval PROFILE := $(shell $(PY) -m pain_lib.cli profiles --default 2>/dev/null || echo standard))$(PROFILE)
endif

.PHONY: faults help setup kernel data reproduce test lab lint index clean-results bench lock book book-setup book-lock

help:
	@echo "make reproduce [PROFILE=name] [ONLY=glob] [JOBS=n]  run every registered notebook"
	@echo "               (profiles: pain_lib/config.py PROFILES; default: full with CUDA, else standard)"
	@echo "make test      run the test suite (every notebook in the tiny profile included)"
	@echo "make lab       JupyterLab on notebooks/"
	@echo "make lint      ruff, and the layering contracts of .importlinter (import-linter)"
	@echo "make bench     benchmark scripts (print numbers)"
	@echo "make lock      regenerate $(LOCK) from pyproject.toml and requirements/lock.in"
	@echo "make book [RESULTS=dir]  the static companion site in build/book/html (no notebook runs)"
	@echo "make book-lock regenerate $(BOOK_LOCK) (the book extra, constrained by $(LOCK))"

# Create the virtual environment if missing, install the locked versions (hash-checked), then
# the project itself without dependencies, and register the kernel.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	$(MAKE) --no-print-directory kernel
	@touch $(STAMP)

setup: $(STAMP)

kernel:
	$(PY) -m ipykernel install --sys-prefix --name pain-lib --display-name "Python (pain-lib)" >/dev/null

# One universal lock (every platform, Python >= 3.10) with the hashes of every wheel on the index.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'uv==$(UV_VERSION)'
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev requirements/lock.in \
	    --universal --python-version 3.10 --generate-hashes \
	    --no-config --default-index $(LOCK_INDEX) $(if $(UPGRADE),--upgrade) \
	    --custom-compile-command 'make lock' -o $(LOCK)

# The book: its extra installed once (hash-checked, Python >= 3.11: Sphinx 9 / myst-parser 5), then
# the site built from the executed notebooks of the last `make reproduce` where they exist, else
# from the committed notebooks and results. Nothing executes; nothing is downloaded at build time.
$(BOOK_STAMP): $(STAMP) $(BOOK_LOCK)
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "make book needs Python >= 3.11 (the book extra: Sphinx 9, myst-parser 5)")'
	$(PY) -m pip install -q --require-hashes -r $(BOOK_LOCK)
	@touch $(BOOK_STAMP)

book-setup: $(BOOK_STAMP)

book: book-setup
	$(PY) -m pain_lib.cli book $(if $(RESULTS),--results-dir '$(RESULTS)')

book-lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'uv==$(UV_VERSION)'
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra book requirements/lock.in -c $(LOCK) \
	    --universal --python-version 3.11 --generate-hashes \
	    --no-config --default-index $(LOCK_INDEX) $(if $(UPGRADE),--upgrade) \
	    --custom-compile-command 'make book-lock' -o $(BOOK_LOCK)

# Generate (once) the synthetic datasets the registered notebooks need at this profile.
data: setup
	$(PY) -m pain_lib.cli data prepare --profile $(PROFILE)

reproduce: setup data
	$(PY) -m pain_lib.cli reproduce --profile $(PROFILE) --jobs $(JOBS) $(if $(ONLY),--only '$(ONLY)')

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks

lint: setup
	$(VENV)/bin/ruff check pain_lib tests bench
	$(VENV)/bin/lint-imports

index: setup
	$(PY) -m pain_lib.cli index

bench: setup
	$(PY) bench/preprocess.py
	$(PY) bench/models.py

# The command's faults as tests (tests/test_faults_cli.py), then the sweep (bench/faults.py): interrupt,
# race and corrupt a real run; every bad input of bench/cli_faults.py; a full results disk.
faults: setup
	$(PY) -m pytest -q tests/test_faults_cli.py
	$(PY) bench/faults.py --out results/benchmarks/faults.md
