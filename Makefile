PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/trialmon: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
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

## Lint, type-check and run the whole suite.
test: $(BIN)/trialmon
	$(BIN)/ruff check monitor tests $(wildcard benchmarks)
	$(BIN)/ruff format --check monitor tests $(wildcard benchmarks)
	$(BIN)/mypy
	$(BIN)/mypy benchmarks
	$(BIN)/pytest -q

bench: $(BIN)/trialmon
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) snapshots/*.db snapshots/*.db-*
