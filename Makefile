# `make report` and `make test` each set up .venv (idempotently) and the Debian packages the job
# needs, then run the job. A second call reinstalls nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
STUDY ?= fashion-mnist
PROFILE ?= quick

# Debian packages: the offline Fashion-MNIST for the demo, Pango + DejaVu for WeasyPrint's PDF,
# Noto (core: Arabic, Hebrew, Devanagari, Thai, ...; CJK: Chinese, Japanese, Korean) so that a
# folder's class names in any script are drawn in the figures and the PDF (DejaVu has Latin,
# Greek and Cyrillic), poppler-utils (pdftotext, pdftoppm) for the tests that read the PDF.
DEBS_FONTS := fonts-dejavu-core fonts-noto-core fonts-noto-cjk
DEBS_REPORT := dataset-fashion-mnist libpango-1.0-0 libpangoft2-1.0-0 $(DEBS_FONTS)
DEBS_TEST := $(DEBS_REPORT) poppler-utils

.PHONY: report test setup clean-venv

report: setup
	@$(MAKE) --no-print-directory debs DEBS="$(DEBS_REPORT)"
	$(VENV)/bin/cnnreport build --study $(STUDY) --profile $(PROFILE)

test: setup html-validate
	@$(MAKE) --no-print-directory debs DEBS="$(DEBS_TEST)"
	$(PY) -m pytest -q

# html-validate (npm) checks report.html against html-validate:recommended in the tests
# (tests/test_report_accessibility.py). Installed once into .venv/node where node and npm exist:
# 10.x needs node >= 20.19, 9.x runs on node 18; without node the test says it is skipped.
HTMLVALIDATE_STAMP := $(VENV)/node/.installed-stamp
.PHONY: html-validate
html-validate: | $(PY)
	@if [ -f $(HTMLVALIDATE_STAMP) ]; then exit 0; fi; \
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "note: node/npm not found: the html-validate check of report.html will be skipped"; exit 0; fi; \
	major=$$(node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
		console.log(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 10 : 9)'); \
	mkdir -p $(VENV)/node && npm install --silent --no-audit --no-fund --prefix $(VENV)/node "html-validate@$$major" \
		&& touch $(HTMLVALIDATE_STAMP) \
		|| echo "note: could not install html-validate from npm: its check of report.html will be skipped"

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# The venv's bundled pip is upgraded first (2 s): on a 2-core machine pip 26 installs the test
# extra in about 75 s where Python 3.11's bundled pip 23.2 takes about 110 s (both measured
# without byte-compiling). pip's byte-compiling (about 30 s more) stays: where
# PYTHONDONTWRITEBYTECODE is set, as CI images often do, Python would otherwise compile
# TensorFlow anew at every import (5 s → 11 s per process).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

# Install the missing ones among $(DEBS) when apt is there; otherwise say what is missing.
.PHONY: debs
debs:
	@command -v dpkg >/dev/null || exit 0; \
	missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then SUDO="sudo"; \
	else echo "note: Debian packages missing:$$missing (install them for the offline demo / PDF tests)"; exit 0; fi; \
	echo "installing Debian packages:$$missing"; \
	$$SUDO apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; } || \
	echo "note: could not install$$missing"

clean-venv:
	rm -rf $(VENV)
