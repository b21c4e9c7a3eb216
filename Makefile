PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-isa lint bench bench-gpu clean venv

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

# A test whose worker process XLA took down (an abort or a segfault inside compilation, seen in two of the
# last four full runs, never twice for one test) runs once more; a failure is never rerun.
CRASH_RERUN := --reruns 1 --only-rerun "crashed while running"

# (a compile cache of the run's own: no entry from another run, version or machine is read; with the cache
# off the suite takes twice as long, and XLA crashed all the same: see docs/design/determinism.md)
test: $(STAMP) lint
	THETAHAT_CACHE_DIR=$$(mktemp -d) $(PY) -m pytest -n 2 -q $(CRASH_RERUN)

# The structure: the layers and no import circles (import-linter contracts in pyproject.toml), no private
# name taken across sub-packages, no function over 80 lines (see ARCHITECTURE.md).
lint: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(VENV)/bin/lint-imports --no-cache
	$(PY) tools/check_private_imports.py
	$(PY) tools/check_function_length.py

# The numerically sensitive tests again under two older instruction sets: the same verdicts and the same
# answers on every CPU.
SENSITIVE := tests/test_families.py tests/test_continuous_facts.py tests/test_discrete_facts.py \
	tests/test_closed_form_derivs.py tests/test_engine.py tests/test_batch.py tests/test_blocks.py \
	tests/test_boundary.py tests/test_intervals.py tests/test_lrt.py tests/test_censoring.py \
	tests/test_regression_models.py tests/test_regression_fast.py tests/test_regression_extended.py \
	tests/test_regression_penalized.py tests/test_regression_nist.py tests/test_nls.py \
	tests/test_mixture.py tests/test_hmm.py tests/test_scale_fit.py tests/test_scale_regress.py \
	tests/test_scale_mixture.py tests/test_special.py tests/test_open_bounds.py tests/test_mixture_convergence.py

# (x86-64 ISA names; elsewhere one run on the host's own)
ISAS := $(if $(filter x86_64 amd64,$(shell uname -m)),SSE4_2 AVX2,host)

test-isa: $(STAMP)
	for isa in $(ISAS); do \
		echo "== $$isa =="; \
		flags=$$( [ $$isa = host ] || echo --xla_cpu_max_isa=$$isa ); \
		XLA_FLAGS=$$flags THETAHAT_CACHE_DIR=$$(mktemp -d) \
			$(PY) -m pytest -n 2 -q -p no:cacheprovider $(CRASH_RERUN) $(SENSITIVE) || exit 1; \
	done

# Each prints its tables and rewrites its own section of docs/benchmarks.md (the other section is kept).
bench: $(STAMP)
	$(PY) benchmarks/run.py

# fit_many, the bootstrap and a study on JAX's default device and on the CPU (CPU only without an accelerator);
# BENCH_GPU_FLAGS=--quick for small sizes
bench-gpu: $(STAMP)
	$(PY) benchmarks/bench_gpu.py $(BENCH_GPU_FLAGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
