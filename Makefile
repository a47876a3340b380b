# Everything installs from this repository's own files on a fresh machine
# with Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv up test test-tools lint fmt clean infra-down

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	$(BIN)/loyalty up $(ARGS)

# Debian's GnuCOBOL compiler: the tests check our EBCDIC/COMP-3 files against real COBOL.
test-tools:
	@command -v cobc >/dev/null 2>&1 || { \
	  echo "installing gnucobol3 (cobc) for the COBOL cross-check"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gnucobol3 >/dev/null; }

test: $(STAMP) test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services shared contracts

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

infra-down: $(STAMP)
	$(BIN)/loyalty infra down

clean:
	rm -rf $(VENV) .loyalty .pytest_cache .mypy_cache .ruff_cache
