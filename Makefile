# Clearway: `make run` runs the platform, `make test` runs the whole test suite.
SHELL := /bin/bash
# The venv's interpreter: the distribution's Python 3.11 where it can make a venv (Debian's and
# Ubuntu's are built with PGO and LTO, as the image's python:3.11-slim is), else the first
# python3.11 or python3 on PATH. A version manager's default build (pyenv's: neither) ran the
# platform 15-18% slower (bench.e2e at 1,000/s offered, alternating, 2026-12-07).
DISTRIBUTION_PYTHON := $(shell /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null && echo /usr/bin/python3.11)
PYTHON ?= $(or $(DISTRIBUTION_PYTHON),$(shell command -v python3.11 || command -v python3))
VENV := .venv
BIN := $(VENV)/bin
# A venv made from another interpreter than $(PYTHON) is made again.
PYTHON_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
STAMP := $(VENV)/.installed-$(shell (cat pyproject.toml; echo $(PYTHON_EXE)) | sha1sum | cut -c1-12)

.PHONY: run test install lint types pytest postgres browser clean

run: $(STAMP)
	$(BIN)/clearway up

test: $(STAMP) postgres browser
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory lint types pytest || status=$$?; \
	echo "test suite took $$(( $$(date +%s) - start ))s"; exit $$status

install: $(STAMP)

$(STAMP): pyproject.toml
	@grep -qxF 'executable = $(PYTHON_EXE)' $(VENV)/pyvenv.cfg 2>/dev/null && test -x $(BIN)/python \
		|| { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite runs its database tests on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth).
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		if command -v pg_ctlcluster >/dev/null; then \
			echo "starting PostgreSQL"; \
			pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
		fi; \
	fi

# Browser tests drive Debian's Chromium through Playwright; Chinese pages need a CJK font.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "installing chromium and a CJK font for the browser tests"; \
		SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium chromium-driver fonts-wqy-microhei >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data test-artifacts
