# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Every other target is a step they share.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LINTED := $(wildcard src tests bench)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo demo-plan test bench install install-ray system-deps lint typecheck unit clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# Ray Core (`mge[ray]`, for `--executor ray`) is installed for the tests and the
# benchmark only: `make demo` runs locally and need not fetch an 80 MB wheel.
RAY_STAMP := $(VENV)/.installed-ray-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
$(RAY_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,ray]'
	@rm -f $(VENV)/.installed-ray-*
	@touch $@

install-ray: $(RAY_STAMP)

system-deps:
	@scripts/ensure_postgres.sh
	@scripts/install_system_tools.sh
	@scripts/install_test_corpora.sh
	@scripts/install_node_tools.sh

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install install-ray system-deps
	$(BIN)/pytest

test: install install-ray system-deps lint typecheck unit

# The TypeScript compiler (npm, from the committed lockfile) serves the TS example;
# without node the Python demo still runs.
demo: install
	@scripts/install_node_tools.sh || echo "make demo: no node/npm, the TypeScript example is unavailable"
	$(BIN)/mge demo

# From a request to a run with no key: replay drafts the plan from the inventory
# example, the draft is approved, then run (docs/PLANS.md).
demo-plan: install
	rm -rf .mge/plan-demo
	id=$$($(BIN)/mge plan new "A small stock-keeping library: catalog, ledger, pricing, orders." \
		--reference examples/inventory/reference -o .mge/plan-demo/plan.yaml --by demo --json \
		| $(BIN)/python -c 'import json, sys; print(json.load(sys.stdin)["draft_id"])') && \
	$(BIN)/mge plan show $$id && $(BIN)/mge plan approve $$id --by demo && \
	$(BIN)/mge run .mge/plan-demo/plan.yaml --out .mge/plan-demo/out --no-mutation

bench: install install-ray system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mge .pytest_cache .mypy_cache .ruff_cache
