# idp-bridge: `make run` serves the demo issuer; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STATE := var
PYTEST_ARGS ?=

.PHONY: run serve test test-sqlite test-postgres lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "idp-bridge needs Python 3.11 or newer"'
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,dev]"
	@touch $@

run: $(VENV)/.installed
	@$(PY) -m idp_bridge.demo_env $(STATE)/demo.env $(PORT)
	@set -a && . ./$(STATE)/demo.env && set +a && \
	$(PY) manage.py migrate --noinput -v0 --skip-checks && \
	$(PY) manage.py demo_setup --skip-checks && \
	exec $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

# The production entry point on this machine with the demo portal: settings checks, migrations,
# gunicorn on 127.0.0.1:$(PORT), nginx terminating TLS at https://localhost:8443 (self-signed).
serve: $(VENV)/.installed
	@$(PY) -m idp_bridge.demo_env $(STATE)/demo.env $(PORT)
	@set -a && . $(abspath $(STATE))/demo.env && set +a && \
	export BRIDGE_ISSUER=https://localhost:8443 DJANGO_ALLOWED_HOSTS=localhost BRIDGE_BEHIND_PROXY=true \
	  BRIDGE_TRUSTED_PROXIES=127.0.0.1 BRIDGE_PROXY=nginx BRIDGE_PROXY_LISTEN=127.0.0.1:8443 \
	  BIND=127.0.0.1:$(PORT) PYTHON=$(PY) && \
	$(PY) manage.py migrate --noinput -v0 --skip-checks && $(PY) manage.py demo_setup --skip-checks && \
	exec bin/entrypoint

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)
	@if $(PY) -m tests.postgres_available; then \
		echo "== again with the bridge database on PostgreSQL =="; \
		TEST_DATABASE=postgres $(PY) -m pytest $(PYTEST_ARGS); \
	else echo "PostgreSQL is not reachable at 127.0.0.1:5432: skipped the PostgreSQL run (start it to include it)"; fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy accounts oidc audit idp_bridge

clean:
	rm -rf $(VENV) $(STATE) .pytest_cache .hypothesis
