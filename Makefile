# Every target sets up what it needs: on a fresh machine `make test` or `make demo` is the whole set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: venv test demo soak bench package lint clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m infra.local.demo $(ARGS)

soak: $(STAMP)
	$(BIN)/python -m infra.local.soak $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m scripts.bench $(ARGS)

package: $(STAMP)
	$(BIN)/python scripts/package $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check edge tests infra scripts signedlinks examples
	$(BIN)/cfn-lint cloudformation.template

clean:
	rm -rf $(VENV) dist build .pytest_cache .hypothesis
