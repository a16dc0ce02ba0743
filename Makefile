# Everything a fresh machine needs, from the project's own files.
#   make example   install supplychain into .venv and write an SBOM of the bundled Composer example
#   make test      install test dependencies (pip, Debian docker-registry, npm helpers) and run
#                  ruff, mypy --strict and the whole pytest suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: example test lint typecheck pytest setup-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

example: $(VENV)/.installed
	$(BIN)/supplychain sbom composer fixtures/composer/demo-app --output-reproducible -o example-bom.cdx.json
	$(BIN)/supplychain sbom inspect example-bom.cdx.json

setup-test: $(VENV)/.installed
	bash scripts/setup-test-env.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check supplychain tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy supplychain

pytest: $(VENV)/.installed
	$(BIN)/pytest -q

test: setup-test lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'
	@echo "see bench/README.md for the individual benchmarks (bench/image/build_images.sh installs mmdebstrap as root)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache example-bom.cdx.json
