# Development entry points for the allfi.ota collection.
# Start with `make test` (everything, failing fast) or `make demo`.
# Every step prints one line saying what it does; tools are called from the
# virtual environment by full path, so nothing depends on an activated shell.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.requirements-dev.stamp
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/allfi/ota
DIST := $(CURDIR)/dist
# Scenarios: every folder under molecule/ that holds a molecule.yml.
SCENARIOS := $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml))
# pytest options; for example `make pytest PYTEST_ARGS="-k health -x"`.
PYTEST_ARGS ?=
# Two workers: most integration tests wait on processes and servers, and the
# Docker role test alone runs for minutes (measured: 341 s serial, about 230 s
# with two workers). Files stay whole on one worker so module fixtures build once.
PYTEST_WORKERS ?= 2

# Child processes (molecule runs ansible-playbook, ansible-test runs ansible-*)
# find the venv's tools first, and never ask Galaxy or GitHub for anything.
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_LINT_SKIP_SCHEMA_UPDATE := 1
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export DEBIAN_FRONTEND := noninteractive

.PHONY: help venv venv-upgrade collection-link lint sanity pytest molecule test \
	collection images docker build-tools demo bench clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# --- environment -------------------------------------------------------------

venv: $(VENV_STAMP) ## Create .venv from requirements-dev.txt (again only when it changes).

$(VENV_STAMP): requirements-dev.txt
	@echo "==> venv: make sure $(PYTHON) can create virtual environments"
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "venv: installing python3-venv with apt (ensurepip is missing)"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
	@echo "==> venv: create $(VENV) and install the pinned tools from requirements-dev.txt"
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	@mkdir -p .build
	@$(BIN)/python -m pip install -q -r requirements-dev.txt >.build/pip-install.log 2>&1 || { \
	  cat .build/pip-install.log >&2; echo "venv: pip install failed (log above)" >&2; exit 1; }
	@touch $@

venv-upgrade: ## Upgrade pip and the tools to their newest versions and re-pin them.
	@echo "==> venv-upgrade: install the newest tools and write requirements-dev.txt"
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	@$(BIN)/python -m pip install -q --upgrade ansible ansible-lint antsibull-changelog \
	  black molecule 'molecule-plugins[docker]' paramiko pytest pytest-xdist requests \
	  ruff yamllint
	@{ sed -n '1,2p' requirements-dev.txt; $(BIN)/python -m pip freeze --exclude-editable; } \
	  > requirements-dev.txt.new && mv requirements-dev.txt.new requirements-dev.txt
	@touch $(VENV_STAMP)

collection-link: ## Link .build/collections/ansible_collections/allfi/ota to this tree.
	@echo "==> collection-link: $(COLLECTION_LINK) -> repository root"
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn ../../../.. $(COLLECTION_LINK)

build-tools: ## Install gcc and static libc with apt when missing (the AllFi stand-in is C).
	@echo "==> build-tools: make sure gcc can link static executables"
	@command -v gcc >/dev/null 2>&1 && [ "$$(gcc -print-file-name=libc.a)" != libc.a ] || { \
	  echo "build-tools: installing gcc and libc6-dev with apt"; \
	  apt-get update -qq && apt-get install -y -qq gcc libc6-dev >/dev/null; }

docker: ## Install docker.io and debootstrap when missing; start dockerd when stopped.
	@echo "==> docker: make sure a Docker engine answers"
	@bash scripts/ensure-docker.sh
	@echo "==> docker: make sure the Compose v2 plugin answers (docker compose)"
	@bash scripts/ensure-compose.sh

images: docker ## Build the test images from Debian packages (each skipped when present).
	@echo "==> images: build the missing test images (systemd, sshd, openrc, busybox)"
	@bash tests/images/build.sh
	@bash tests/images/busybox/build.sh

# --- checks ------------------------------------------------------------------

lint: venv collection-link ## black --check, ruff, yamllint, ansible-lint (production profile, offline).
	@echo "==> lint: black --check"
	@$(BIN)/black --check .
	@echo "==> lint: ruff check"
	@$(BIN)/ruff check --quiet .
	@echo "==> lint: yamllint"
	@$(BIN)/yamllint --strict -c .yamllint .
	@echo "==> lint: ansible-lint --profile production --offline"
	@$(BIN)/ansible-lint --profile production --offline --nocolor -q

sanity: venv ## ansible-test sanity in a copy shaped ansible_collections/allfi/ota.
	@echo "==> sanity: make sure shellcheck is installed (ansible-test skips its test without it)"
	@command -v shellcheck >/dev/null 2>&1 || { \
	  apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; }
	@echo "==> sanity: ansible-test sanity --requirements --python 3.11"
	@bash scripts/sanity.sh

# Tests that need containers carry @pytest.mark.docker; only then is the engine
# started and the images built (molecule needs them right after, anyway).
pytest: venv collection-link build-tools ## Unit and integration tests (docker only when a test needs it).
	@if grep -rqE 'mark\.docker|pytestmark.*docker' tests/unit tests/integration 2>/dev/null; then \
	  $(MAKE) images; fi
	@echo "==> pytest: unit and integration tests"
	@cd $(CURDIR) && $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	  $(PYTEST_ARGS)

molecule: venv collection-link build-tools images ## Every scenario under molecule/, one after another.
	@[ -n "$(SCENARIOS)" ] || { echo "molecule: no scenario under molecule/" >&2; exit 1; }
	@for scenario in $(SCENARIOS); do \
	  printf '==> molecule: molecule test -s %s\n' "$$scenario"; \
	  bash scripts/molecule-scenario.sh "$$scenario"; \
	done

test: ## venv, then lint, sanity, pytest and molecule in that order, failing fast.
	@start=$$(date +%s); \
	for target in venv lint sanity pytest molecule; do \
	  t0=$$(date +%s); \
	  $(MAKE) $$target || { echo "test: FAILED at $$target" >&2; exit 1; }; \
	  echo "==> test: $$target took $$(( $$(date +%s) - t0 )) s"; \
	done; \
	echo "==> test: all passed in $$(( $$(date +%s) - start )) s"

# --- products ----------------------------------------------------------------

collection: venv ## Build the collection tarball into dist/.
	@echo "==> collection: ansible-galaxy collection build into dist/"
	@mkdir -p $(DIST)
	@$(BIN)/ansible-galaxy collection build --force --output-path $(DIST) .

demo: venv collection-link ## Run the demonstration (scripts/demo.sh).
	@[ -f scripts/demo.sh ] || { echo "demo: scripts/demo.sh is not written yet" >&2; exit 1; }
	@echo "==> demo: scripts/demo.sh"
	@bash scripts/demo.sh

bench: venv collection-link ## Run the benchmarks (bench/run.sh).
	@[ -f bench/run.sh ] || { echo "bench: bench/run.sh is not written yet" >&2; exit 1; }
	@echo "==> bench: bench/run.sh"
	@bash bench/run.sh

clean: ## Remove build output (.build, dist, caches); keeps .venv and the images.
	@echo "==> clean: remove .build dist tests/output and caches"
	@rm -rf .build dist tests/output .pytest_cache .ruff_cache
	@find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
