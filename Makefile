# One venv per checkout; every target installs what it needs into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cinev4-installed
SOURCES := pyproject.toml setup.py $(shell find src -name '*.py' -o -name '*.pyx' -o -name '*.pyi' -o -name '*.c' -o -name '*.h' -o -name '*.json' 2>/dev/null)

.PHONY: install dev test demo bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# A real (non-editable) install: the tests run against the installed package.
$(STAMP): $(VENV)/bin/python $(SOURCES)
	$(PY) -m pip install --quiet '.[test]'
	touch $@

install: $(STAMP)

# Editable build for development: the extension is compiled into src/.
dev: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(STAMP)

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) scripts/demo.py

bench: install
	$(PY) -m pytest benchmarks --benchmark-only -q -s

clean:
	rm -rf build dist $(VENV) src/*.egg-info src/cinev4/_fasthash.c src/cinev4/*.so
