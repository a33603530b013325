# The two commands a new user needs: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PROJECTS := protos libs/service-kit catalog-service wallet-service redemption-service fulfillment-service events-service gateway local-runner bench

.PHONY: install run test bench reset protos clients lint clean soak promtool chromium

$(STAMP): requirements-dev.txt $(foreach p,$(PROJECTS),$(p)/pyproject.toml)
	@echo "==> creating $(VENV) and installing dependencies"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv
	@$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: install  ## start the whole platform with demo data (Ctrl-C stops it); REPLICAS=2: two of every service; MTLS=1: mutual TLS between them; NATS_REPLICAS=3: a NATS cluster of three
	@$(PY) -m local_runner run

test: install promtool chromium  ## every test: unit, integration (real PostgreSQL and NATS) and e2e (real processes)
	@$(PY) -m pytest

promtool: install  ## promtool (from Debian's prometheus package) for the alert rules' unit tests
	@sh deploy/monitoring/install-promtool.sh $(VENV)/bin

chromium:  ## Debian's chromium for the browser tests (tests-e2e/browser/), driven by Playwright's Python package
	@sh tests-e2e/browser/install-chromium.sh

soak: install  ## long randomized soak: traffic, kills and NATS outages, then every invariant and the share of client intents that succeeded (MINUTES=10 SEED=42 JSON=path)
	@$(PY) -m local_runner.soak --minutes $(or $(MINUTES),10) $(if $(SEED),--seed $(SEED)) $(if $(JSON),--json $(JSON))

bench: install  ## measure the whole redemption against this machine's limit (QUICK=1: about a minute), and the same level with REPLICAS=2 (REPLICAS=1: not); figures in bench-results/
	@$(PY) -m rewards_bench $(if $(QUICK),--quick) $(if $(REPLICAS),--replicas $(REPLICAS)) --out bench-results

reset: install  ## stop what an earlier run left behind, then delete .run/ (data, logs, demo credentials)
	@$(PY) -m local_runner reset

protos: install  ## regenerate the Python code of protos/ after editing a .proto
	@$(PY) protos/generate.py

clients: install  ## regenerate clients/openapi.json and the typed Python client clients/python from the gateway's routes
	@$(PY) clients/generate.py

clean:
	rm -rf $(VENV) .run
