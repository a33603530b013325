# The two commands a new user needs: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PROJECTS := protos libs/service-kit catalog-service wallet-service redemption-service fulfillment-service gateway local-runner

.PHONY: install run test reset protos lint clean

$(STAMP): requirements-dev.txt $(foreach p,$(PROJECTS),$(p)/pyproject.toml)
	@echo "==> creating $(VENV) and installing dependencies"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv
	@$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: install  ## start the whole platform with demo data (Ctrl-C stops it)
	@$(PY) -m local_runner run

test: install  ## every test: unit, integration (real PostgreSQL and NATS) and e2e (real processes)
	@$(PY) -m pytest

reset: install  ## stop nothing, forget everything: deletes .run/ (data, logs, demo credentials)
	@$(PY) -m local_runner reset

protos: install  ## regenerate the Python code of protos/ after editing a .proto
	@$(PY) protos/generate.py

clean:
	rm -rf $(VENV) .run
