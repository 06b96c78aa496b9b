# PYTHON: the interpreter that builds the venv (3.11 or newer), e.g. `make test PYTHON=python3.13`.
# VENV: where the venv lives, e.g. `make test PYTHON=python3.13 VENV=.venv313` keeps both.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

# A venv fits when its Python runs and is 3.11 or newer and, when PYTHON is given on the
# command line or in the environment, is the same version as $(PYTHON). One that does not
# fit (missing, broken, too old, another version) is rebuilt.
version = $(shell $(1) -c 'import sys; assert sys.version_info >= (3, 11); print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
HAVE := $(call version,$(BIN)/python)
ifeq ($(origin PYTHON),file)
FITS := $(if $(HAVE),yes)
else
FITS := $(if $(HAVE),$(if $(filter $(HAVE),$(call version,$(PYTHON))),yes))
endif
ifneq ($(FITS),yes)
.PHONY: $(BIN)/trialmon
endif

$(BIN)/trialmon: pyproject.toml
ifneq ($(FITS),yes)
	@test -n "$(call version,$(PYTHON))" || { echo "make: $(PYTHON) is not Python 3.11 or newer ($$($(PYTHON) --version 2>&1 || echo 'not found')); use one that is: make $(or $(MAKECMDGOALS),test) PYTHON=python3.12" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
endif
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/trialmon

## Replay the bundled fixtures offline into a fresh database and print the change report.
demo: $(BIN)/trialmon
	rm -f snapshots/history.db snapshots/history.db-wal snapshots/history.db-shm
	$(BIN)/trialmon run --source seeds/earlier
	$(BIN)/trialmon run --source seeds
	@echo
	$(BIN)/sqlite-utils query snapshots/history.db "select trial_id, category, severity, summary from changes" --table

## Lint and type-check (ruff, mypy).
lint: $(BIN)/trialmon
	$(BIN)/ruff check monitor tests $(wildcard benchmarks)
	$(BIN)/ruff format --check monitor tests $(wildcard benchmarks)
	$(BIN)/mypy
	$(BIN)/mypy benchmarks

## Lint, type-check and run the whole suite.
test: lint
	$(BIN)/pytest -q

bench: $(BIN)/trialmon
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) snapshots/*.db snapshots/*.db-*
