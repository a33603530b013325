# The two commands a new user needs: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PROJECTS := protos libs/service-kit catalog-service wallet-service redemption-service fulfillment-service events-service gateway local-runner bench
RUN_PROJECTS := protos libs/service-kit catalog-service wallet-service redemption-service fulfillment-service events-service gateway local-runner

.PHONY: install install-run run test bench reset protos clients locks lint clean soak promtool chromium

# Both install from a lock (lock.py says how they are made): `make test` everything in requirements-dev.lock,
# `make run` only requirements-run.lock (the services and the runner, no test or benchmark tools).
$(VENV)/.created:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	@touch $@

$(STAMP): $(VENV)/.created requirements-dev.lock $(foreach p,$(PROJECTS),$(p)/pyproject.toml)
	@echo "==> installing requirements-dev.lock into $(VENV)"
	@$(UV) pip install --quiet --python $(PY) -r requirements-dev.lock
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): $(VENV)/.created requirements-run.lock $(foreach p,$(RUN_PROJECTS),$(p)/pyproject.toml)
	@echo "==> installing requirements-run.lock into $(VENV)"
	@$(UV) pip install --quiet --python $(PY) -r requirements-run.lock
	@touch $(RUN_STAMP)

install: $(STAMP)

install-run: $(RUN_STAMP)

run: install-run  ## start the whole platform with demo data (Ctrl-C stops it; a service that exits is restarted with backoff); REPLICAS=2: two of every service; MTLS=1: mutual TLS between them; NATS_REPLICAS=3: a NATS cluster of three
	@$(PY) -m local_runner run

test: install lint promtool chromium  ## lint, then every test: unit, integration (real PostgreSQL and NATS) and e2e (real processes)
	@$(PY) -m pytest

lint: install  ## ruff over the whole tree, import order included (pyproject.toml's [tool.ruff]); `make test` runs it first
	@echo "==> ruff check"
	@$(PY) -m ruff check --no-cache .

promtool: install  ## promtool (from Debian's prometheus package) for the alert rules' unit tests
	@sh deploy/monitoring/install-promtool.sh $(VENV)/bin

chromium:  ## Debian's chromium for the browser tests (tests-e2e/browser/), driven by Playwright's Python package
	@sh tests-e2e/browser/install-chromium.sh

soak: install  ## long randomized soak: traffic, kills and NATS outages, then every invariant and the share of client intents that succeeded (MINUTES=10 SEED=42 JSON=path)
	@$(PY) -m local_runner.soak --minutes $(or $(MINUTES),10) $(if $(SEED),--seed $(SEED)) $(if $(JSON),--json $(JSON))

bench: install  ## measure the whole redemption against this machine's limit (QUICK=1: about a minute), and the same level with REPLICAS=2 (REPLICAS=1: not); figures in bench-results/
	@$(PY) -m rewards_bench $(if $(QUICK),--quick) $(if $(REPLICAS),--replicas $(REPLICAS)) --out bench-results

reset: install-run  ## stop a `make run` that is up and what an earlier run left behind (saying what), then delete .run/ (data, logs, demo credentials)
	@$(PY) -m local_runner reset

protos: install  ## regenerate the Python code of protos/ after editing a .proto
	@$(PY) protos/generate.py

clients: install  ## regenerate clients/openapi.json and the typed Python client clients/python from the gateway's routes
	@$(PY) clients/generate.py

locks: install  ## recompile the lock files after changing requirements-*.txt or a pyproject.toml (UPGRADE=1: newest versions)
	@$(PY) lock.py $(if $(UPGRADE),--upgrade)

clean:
	rm -rf $(VENV) .run
