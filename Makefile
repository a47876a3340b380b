# Everything installs from this repository's own files on a fresh machine
# with Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Tools with dependency pins of their own (checkov) get a virtual environment of their own.
TOOLS  ?= .venv-tools
AUDIT  ?= .venv-audit

.PHONY: venv up test test-tools lint audit fmt clean infra-down

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The matching engine's hot modules compiled with mypyc (plain Python where no C compiler is).
NATIVE     := $(VENV)/.native
NATIVE_SRC := $(addprefix services/vendor_matching/,normalise.py similarity.py text_index.py trades.py engine.py)

$(NATIVE): $(STAMP) $(NATIVE_SRC)
	-$(BIN)/python -m services.vendor_matching.native build
	@touch $(NATIVE)

venv: $(STAMP) $(NATIVE)

up: $(STAMP) $(NATIVE)
	$(BIN)/loyalty up $(ARGS)

# Debian's GnuCOBOL compiler: the tests check our EBCDIC/COMP-3 files against real COBOL.
test-tools:
	@command -v cobc >/dev/null 2>&1 || { \
	  echo "installing gnucobol3 (cobc) for the COBOL cross-check"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gnucobol3 >/dev/null; }
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (headless) for the console's Playwright tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@test -x $(TOOLS)/bin/checkov || { \
	  echo "installing checkov into $(TOOLS) for the deployment policy tests"; \
	  $(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet 'checkov==3.3.30'; }

test: $(STAMP) $(NATIVE) test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	git ls-files -z | xargs -0 $(BIN)/detect-secrets-hook --baseline .secrets.baseline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services shared contracts

# Known vulnerabilities in the installed dependencies (pip-audit in a venv of its own). It
# needs OSV or PyPI's JSON API: where neither is reachable it fails and says so (--strict).
# An accepted finding goes in .pip-audit-ignore: its id, then why, one a line.
audit: $(STAMP)
	@test -x $(AUDIT)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT); \
	  $(AUDIT)/bin/python -m pip install --quiet 'pip-audit>=2.7'; }
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/audited-requirements.txt
	$(AUDIT)/bin/pip-audit --requirement $(VENV)/audited-requirements.txt --no-deps \
	  --disable-pip --strict --progress-spinner off \
	  $$(grep -v '^#' .pip-audit-ignore | awk 'NF {print "--ignore-vuln", $$1}')

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

infra-down: $(STAMP)
	$(BIN)/loyalty infra down

clean:
	rm -rf $(VENV) $(TOOLS) .loyalty .pytest_cache .mypy_cache .ruff_cache build
	rm -f services/vendor_matching/*.so
