PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean venv

venv: $(STAMP)

# (Re)install when the project metadata changes; pip is quick when nothing changed.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/thetahat fit tests/data/rivers.csv --column x --family lognormal
	$(VENV)/bin/thetahat compare tests/data/rivers.csv --column x

test: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pytest -n 2 -q

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
