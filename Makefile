# Kura's two set-up commands (see README):
#   make run    install into .venv and start Kura's window (ARGS=... runs the CLI instead)
#   make test   install into .venv (with the test and export tools), the CJK font the OCR
#               tests draw with (fonts-wqy-zenhei), and run the tests
#
# The install is keyed on pyproject.toml: editing it reinstalls, otherwise it is skipped.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint models models-check fonts clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# torch==2.13.0 (in the export extra) is the CPU build that lies on this machine's disk.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[export,test]'
	touch $@ $(VENV)/.installed-app

run: $(VENV)/.installed-app
ifdef ARGS
	$(BIN)/kura $(ARGS)
else
	$(BIN)/kura-app
endif

# Builds (or reuses from ~/.cache/kura-build) the real embedder the tests use.
models: $(VENV)/.installed-test
	$(BIN)/python -m models.build $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The embedder must come out byte-identical to models/manifest.json on every machine.
models-check: $(VENV)/.installed-test
	$(BIN)/python -m models.build --check

# The OCR tests draw English and Chinese pages with Debian's WenQuanYi Zen Hei font
# (tests/support/fonts.py): installed here when it is missing (apt-get; sudo unless root).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
fonts:
	@test -f $(CJK_FONT) || test -n "$$KURA_TEST_CJK_FONT" || \
		{ $(SUDO) apt-get install -y -q fonts-wqy-zenhei >/dev/null || \
		  { $(SUDO) apt-get update -q >/dev/null && \
		    $(SUDO) apt-get install -y -q fonts-wqy-zenhei >/dev/null; }; }

test: fonts models-check lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV)
