# Everything a fresh machine needs, from the project's own files.
#   make example   install supplychain into .venv and write an SBOM of the bundled Composer example
#   make test      install test dependencies (pip, Debian docker-registry, npm helpers) and run
#                  ruff, mypy --strict and the whole pytest suite
#   make lock      regenerate the hash-checked lock files from pyproject.toml (pip-tools)
# Python packages come from the lock files, hash-checked (--require-hashes): requirements.lock
# (runtime: make example, the container image), requirements-test.lock (runtime + test: make
# test, CI), requirements-bench.lock (+ bench). scripts/lock.py check stops with a clear message
# when pyproject.toml declares something its lock was not made from: run `make lock`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: example test lint typecheck pytest setup-test bench clean lock lock-upgrade lock-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# runtime dependencies only (make example)
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python scripts/lock.py check requirements.lock
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
	touch $@

# runtime + test tools (make test)
$(VENV)/.installed-test: pyproject.toml requirements-test.lock | $(BIN)/python
	$(BIN)/python scripts/lock.py check requirements-test.lock
	$(BIN)/pip install -q --require-hashes -r requirements-test.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
	touch $@ $(VENV)/.installed

example: $(VENV)/.installed
	$(BIN)/supplychain sbom composer fixtures/composer/demo-app --output-reproducible -o example-bom.cdx.json
	$(BIN)/supplychain sbom inspect example-bom.cdx.json

setup-test: $(VENV)/.installed-test
	bash scripts/setup-test-env.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check supplychain tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy supplychain

pytest: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: lock-check setup-test lint typecheck pytest

bench: $(VENV)/.installed-test
	$(BIN)/python scripts/lock.py check requirements-bench.lock
	$(BIN)/pip install -q --require-hashes -r requirements-bench.lock
	$(BIN)/pip install -q --no-deps -e .
	@echo "see bench/README.md for the individual benchmarks (bench/image/build_images.sh installs mmdebstrap as root)"

# The locks: pip-compile (pip-tools, in its own venv) resolves pyproject.toml for this Python
# (3.11, as in the container image) with every file's sha256. The widest lock is made first and
# the others are constrained to its versions, so CI tests exactly what the image ships.
# `make lock` keeps the current pins where they still fit; `make lock-upgrade` takes the newest.
LOCKENV  ?= .lockenv
LOCKS    := requirements.lock requirements-test.lock requirements-bench.lock requirements-build.lock
COMPILE   = $(LOCKENV)/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe \
            --no-emit-index-url --no-emit-find-links $(LOCKFLAGS)

lock:
	test -x $(LOCKENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCKENV) && $(LOCKENV)/bin/pip install -q pip-tools==7.6.2; }
	cp pyproject.toml $(LOCKENV)/pyproject.compiled.toml
	$(COMPILE) --extra test --extra bench -o requirements-bench.lock pyproject.toml
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' requirements-bench.lock > $(LOCKENV)/constraints.txt
	$(COMPILE) -c $(LOCKENV)/constraints.txt --extra test -o requirements-test.lock pyproject.toml
	$(COMPILE) -c $(LOCKENV)/constraints.txt -o requirements.lock pyproject.toml
	$(COMPILE) --only-build-deps --build-deps-for wheel -o requirements-build.lock pyproject.toml
	$(PYTHON) scripts/lock.py stamp --from $(LOCKENV)/pyproject.compiled.toml $(LOCKS)
	$(PYTHON) scripts/lock.py check $(LOCKS)

lock-upgrade:
	$(MAKE) lock LOCKFLAGS=--upgrade

lock-check:
	$(PYTHON) scripts/lock.py check $(LOCKS)

clean:
	rm -rf $(VENV) $(LOCKENV) .pytest_cache .mypy_cache .ruff_cache example-bom.cdx.json
