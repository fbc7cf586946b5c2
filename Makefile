# Two entry points do all the set-up on a fresh clone:
#   make dashboard   - create .venv, install, start the dashboard on 127.0.0.1:8501 (python -m dashboard)
#   make test        - create .venv, install, run the whole test suite (the slowest 25 tests listed)
#   make check       - the fast tier: everything except the browser, AppTest and slow tests (under 2 minutes)
# The venv is reinstalled only when requirements*.txt or pyproject.toml change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: dashboard test check bench clean-venv

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -c "import torch, torchvision, streamlit, plotly, pandas, mlxtend, sklearn, playwright, pytest"
	touch $(STAMP)

dashboard: $(STAMP)
	$(PY) -m dashboard --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest -q --durations=25 $(PYTEST_ARGS)

# Markers are registered in pyproject.toml; a test over ~3 s is marked slow.
check: $(STAMP)
	$(PY) -m pytest -q -m "not browser and not apptest and not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/engine_bench.py engine
	$(PY) benchmarks/engine_bench.py session

clean-venv:
	rm -rf $(VENV)
