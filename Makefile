# Every target sets up what it needs: on a fresh machine `make test` or `make demo` is the whole set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: help venv test demo soak bench package lint clean

help: ## list the targets, one line each (the text after `##` on each target's line)
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' | expand -t 10

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

venv: $(STAMP) ## create .venv and install the pinned requirements (every target does it when needed)

test: $(STAMP) ## run every test
	$(BIN)/python -m pytest

demo: $(STAMP) ## run the whole request path locally (CloudFront, function, MRAP, buckets); ARGS=--check to exit
	$(BIN)/python -m infra.local.demo $(ARGS)

soak: $(STAMP) ## load test of the local stack
	$(BIN)/python -m infra.local.soak $(ARGS)

bench: $(STAMP) ## benchmark the handler against its floors and a naive signer (ARGS=--help for the options)
	$(BIN)/python -m scripts.bench $(ARGS)

package: $(STAMP) ## build the deployment zip into dist/ (ARGS="--runtime python3.12", ARGS=--help)
	$(BIN)/python scripts/package $(ARGS)

lint: $(STAMP) ## ruff over the Python, cfn-lint over the template
	$(BIN)/ruff check edge tests infra scripts signedlinks examples
	$(BIN)/cfn-lint cloudformation.template

clean: ## remove .venv, dist and the caches
	rm -rf $(VENV) dist build .pytest_cache .hypothesis
