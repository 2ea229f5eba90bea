# The two set-up commands of the README: `make demo` and `make test`. Both work on a fresh machine
# with Python 3.10+ and PyPI access; everything is installed into .venv and .tools (git-ignored).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Everything is installed from the locks in requirements/ (hashes required); `make lock` refreshes them.
PIP := $(PY) -m pip install -q --disable-pip-version-check
DIST ?= dist

.PHONY: demo test bench tools dist lock clean

$(VENV)/.runtime: pyproject.toml requirements/runtime.txt requirements/build.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements/build.txt  # first: the locked pip (a venv's own may be older)
	$(PIP) --require-hashes -r requirements/runtime.txt
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements/test.txt
	$(PIP) --require-hashes -r requirements/test.txt
	touch $@

tools:
	$(PY) bin/fetch-tools
	$(PY) bin/fetch-dagster

demo: $(VENV)/.runtime
	$(PY) bin/demo

test: $(VENV)/.test tools
	$(PY) -m pytest

# The benchmark runs a regular (non-editable, byte-compiled) install, as pipx would make it.
BENCH_VENV := .tools/bench-venv
bench: $(VENV)/.runtime tools
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/build.txt
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/runtime.txt
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation .
	KUBECTL_DAGSTER=$(BENCH_VENV)/bin/kubectl-dagster $(PY) bin/bench

# Wheel, sdist, Helm plugin tarballs, krew archives and manifest into $(DIST)/ (docs/release.md).
# RELEASE_TAG (the release workflow passes the git tag) must be v<version>.
dist: $(VENV)/.test
	$(PY) bin/dist --out $(DIST) --tag "$(RELEASE_TAG)"

# Re-resolve requirements/*.txt from PyPI (uv, every Python from 3.10, with hashes).
lock: $(VENV)/.test
	$(PY) bin/lock

clean:
	rm -rf $(VENV) .tools dist
