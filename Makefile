# The two set-up commands of the README: `make demo` and `make test`. Both work on a fresh machine
# with Python 3.10+ and PyPI access; everything is installed into .venv and .tools (git-ignored).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench tools clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

tools:
	$(PY) bin/fetch-tools

demo: $(VENV)/.runtime
	$(PY) bin/demo

test: $(VENV)/.test tools
	$(PY) -m pytest

# The benchmark runs a regular (non-editable, byte-compiled) install, as pipx would make it.
BENCH_VENV := .tools/bench-venv
bench: $(VENV)/.runtime tools
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check .
	KUBECTL_DAGSTER=$(BENCH_VENV)/bin/kubectl-dagster $(PY) bin/bench

clean:
	rm -rf $(VENV) .tools
