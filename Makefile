# Every target creates .venv when it is missing and installs the project into it,
# so on a fresh machine `make demo` and `make test` are all a user needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export MPLBACKEND := Agg
# Pin threads: on these 2-vCPU machines unpinned 2-thread BLAS runs stall at random.
export OMP_PROC_BIND := true

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,render]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tutorials/01_first_graph.py --out out/01_first_graph

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0 || echo "torch not installed: PyTorch cases will have no reference"
	OMP_PROC_BIND=true OMP_NUM_THREADS=2 NUMBA_NUM_THREADS=2 $(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .hypothesis out
