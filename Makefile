# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Every other target is a step they share.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LINTED := $(wildcard src tests bench)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench install system-deps lint typecheck unit clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

system-deps:
	@scripts/ensure_postgres.sh
	@scripts/install_system_tools.sh
	@scripts/install_test_corpora.sh

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install system-deps
	$(BIN)/pytest

test: install system-deps lint typecheck unit

demo: install
	$(BIN)/mge demo

bench: install system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mge .pytest_cache .mypy_cache .ruff_cache
