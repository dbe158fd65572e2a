# One venv per checkout; every target installs what it needs into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cinev4-installed
# `make demo`'s install: cinev4 and its runtime dependencies only (no test extras).
RUNTIME_STAMP := $(VENV)/.cinev4-runtime-installed
# What an install is built from. _fasthash.c is generated from the .pyx by every build
# (a wheel build too), so it never counts: it would make the next target reinstall.
SOURCES := pyproject.toml setup.py $(shell find src \( -name '*.py' -o -name '*.pyx' -o -name '*.pyi' -o -name '*.c' -o -name '*.h' -o -name '*.json' \) ! -name '_fasthash.c' 2>/dev/null)

.PHONY: install dev test demo bench wheel-check mutation clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# A real (non-editable) install: the tests run against the installed package.
# Each stamp stands for its own dependencies: the test stamp for the test extras,
# the runtime stamp for the runtime ones, so neither target skips what it needs.
$(STAMP): $(VENV)/bin/python $(SOURCES)
	$(PY) -m pip install --quiet '.[test]'
	touch $@ $(RUNTIME_STAMP)

$(RUNTIME_STAMP): $(VENV)/bin/python $(SOURCES)
	$(PY) -m pip install --quiet .
	touch $@

install: $(STAMP)

# Editable build for development: the extension is compiled into src/.
dev: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(STAMP) $(RUNTIME_STAMP)

# The suite, then the benchmarks in quick mode: small data, the ratio guards on.
# The suite runs on TEST_WORKERS pytest-xdist workers (most of its time is
# subprocesses and file I/O: 2 workers take it from about 4.3 to 2.5 minutes
# on 2 cores); the benchmarks always run alone, one process, nothing beside them.
# The packaging check builds a wheel and runs this whole suite again against it
# (about 2 minutes on 2 cores): it has its own target and CI job, wheel-check.
TEST_WORKERS ?= 2
test: install
	CINEV4_SKIP_WHEEL_CHECK=1 $(PY) -m pytest -q -n $(TEST_WORKERS)
	$(PY) -m pytest benchmarks --quick -q --benchmark-columns=min,median,rounds

# The whole life of a shot on data it makes; needs cinev4's runtime dependencies only.
demo: $(RUNTIME_STAMP)
	$(PY) scripts/demo.py
	@echo ""
	@echo "cinev4 is installed in $(VENV): run $(VENV)/bin/cinev4 --help (or activate it: . $(VENV)/bin/activate)"

# Full benchmarks (1 GiB file, 200 x 8 MiB, 20,000 x 16 KiB; see benchmarks/conftest.py).
# BENCH_ARGS passes more, e.g. BENCH_ARGS='--benchmark-json=bench.json'.
bench: install
	$(PY) -m pytest benchmarks --benchmark-only -q $(BENCH_ARGS)

# scripts/check_wheel.sh: cibuildwheel targets, workflows, a real sdist + wheel
# (auditwheel repaired) installed in a fresh venv with the suite run against it.
wheel-check: install
	CINEV4_SKIP_WHEEL_CHECK=0 $(PY) -m pytest -q tests/test_check_wheel.py

# Mutation testing (mutmut) of contracts/ and the pipeline's states, verify and
# manifests modules on the fast unit tests; prints the score, fails under 85%.
# Editable build: mutmut copies src/ (with the compiled engine) into mutants/.
mutation: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test,mutation]'
	rm -f $(STAMP) $(RUNTIME_STAMP)
	PY=$(PY) bash scripts/mutation.sh

clean:
	rm -rf build dist $(VENV) mutants src/*.egg-info src/cinev4/_fasthash.c src/cinev4/*.so
