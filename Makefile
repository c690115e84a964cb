# The two commands of the README: `make run` (demo terminal) and `make test` (whole suite).
# Each sets everything up on a fresh Debian 12 machine with Python 3.11 and is quick when
# nothing changed (the venv is rebuilt only when pyproject.toml is newer than its stamp).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages needed at run time: libzbar0 for pyzbar; the xcb libraries for a real
# window (PySide6's xcb plugin needs them, see DESIGN.md); offscreen tests need only libzbar0.
# Fonts: DejaVu for Latin text and Droid Sans Fallback for Chinese (receipts, screenshots, the UI).
# poppler-utils: the tests read back the receipt and report PDFs with pdftotext.
# postgresql: the store-mode tests start a real PostgreSQL of their own (tests/pgserver.py).
TEST_DEBS := libzbar0 libdbus-1-3 libglib2.0-0 libfontconfig1 fontconfig fonts-dejavu-core fonts-droid-fallback \
             poppler-utils postgresql
RUN_DEBS  := $(TEST_DEBS) libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
             libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1

# The suite runs on up to 4 workers (pytest-xdist), one test file per worker at a time: files share
# fixtures (a PostgreSQL, a sandbox) and keep their order. `make test JOBS=0` runs it in this process.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: run test lint typecheck bench setup clean sysdeps-test sysdeps-run

run: sysdeps-run $(STAMP)
	$(PY) -m pos_app run --demo

test: sysdeps-test $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check pos_app drivers tests
	$(VENV)/bin/mypy

bench: sysdeps-test $(STAMP) $(VENV)/.bench-installed
	QT_QPA_PLATFORM=offscreen $(PY) tests/bench/run_all.py $(BENCH)

# the benchmarks' anchors (pure-Python rsa as the official SDK signs); not needed by run or test
$(VENV)/.bench-installed: pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	@touch $@

setup: sysdeps-run $(STAMP)

sysdeps-test:
	@PKGS="$(TEST_DEBS)" sh .ci/sysdeps.sh

sysdeps-run:
	@PKGS="$(RUN_DEBS)" sh .ci/sysdeps.sh

$(STAMP): pyproject.toml
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv --clear $(VENV); \
	  else echo "Python's venv module is missing: run  sudo apt-get install -y python3-venv  then run make again"; exit 1; fi; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
