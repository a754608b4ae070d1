# One command per job. Every target first builds .venv from the requirements files when it is
# missing or older than them (the stamp file records the last successful install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
STAGE ?= dev
# pytest-xdist workers; e2e tests share one local server, so they stay on one worker (loadgroup). Three on two cores:
# many tests wait on seconds-long order timers and on the local server, and two workers left a fifth of the CPU idle
# (the suite: 661 s on 2 workers, 583 s on 3, same tests, same machine).
PYTEST_WORKERS ?= 3
# Per-test limit: a hung test fails with its stack instead of eating CI's time.
PYTEST_TIMEOUT ?= 300

.PHONY: run test lint bench package package-check deploy clean distclean venv clients api-types admin import-catalog

venv: $(STAMP)

$(STAMP): requirements.txt requirements-recommend.txt requirements-lake.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# The browser clients (clients/): npm ci from the lockfile and a build when missing or stale (Node.js 20+ needed).
clients: $(STAMP)
	$(BIN)/python -m local.clients

# Regenerate clients/openapi.json and the clients' TypeScript API types from the app's spec (no server needed).
api-types: $(STAMP)
	$(BIN)/python -m local.clients openapi

run: $(STAMP)
	$(BIN)/python -m local

test: lint clients
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -p no:cacheprovider \
		--timeout $(PYTEST_TIMEOUT) --durations 10 tests/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy chalicelib
	$(BIN)/lint-imports --no-cache
	$(BIN)/cfn-lint infra/template.yaml infra/artifacts.yaml infra/clients.yaml

bench: $(STAMP)
	@set -e; for script in bench/[!_]*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		PYTHONPATH=. $(BIN)/python "$$script"; \
	done

# build/<stage>/: the code package, the numpy/scipy layer and the one template `make deploy` sends (docs/deploy.md).
package: $(STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE)

# Builds dev and prod as the deploy would (wheels cached in ~/.cache/shop-build) and checks sizes, pins, imports of
# every handler from the artifacts alone, GET /health, the state machine and cfn-lint: offline, no AWS account.
package-check: $(STAMP)
	$(BIN)/python -m infra.package_check

# make deploy STAGE=dev ALERT_EMAIL=ops@example.com   (DRY_RUN=1: build, check and print the plan only)
deploy: $(STAMP)
	$(BIN)/python -m infra.deploy --stage $(STAGE) --alert-email "$(ALERT_EMAIL)" $(if $(DRY_RUN),--dry-run)

# A deployed stage's first staff admin (or a reset; prints a one-time password) and its catalog (docs/deploy.md).
admin: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m infra.first_day admin --stage $(STAGE) --username "$(USERNAME)"

import-catalog: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m infra.first_day import-catalog --stage $(STAGE) --file "$(FILE)"

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis .local-state build dist *.egg-info
	rm -rf clients/storefront/dist clients/admin/dist

distclean: clean
	rm -rf $(VENV) clients/node_modules clients/*/node_modules
