# The README's two commands: `make dev` runs the whole platform, `make test` runs the tests.
# Both create the virtualenv on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: dev test bench contract

$(INSTALLED): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 13) else "MeetEasy needs CPython 3.11-3.13, found %d.%d" % v)'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED)

dev: $(INSTALLED)
	$(VENV)/bin/meeteasy dev

# Two pytest workers, each with its own Redis, SecantusDB and MeetEasy processes: the
# embedded database is a single Python process that slows down as it ages, so two
# younger ones (one per core) halve the suite's time. A test file stays on one worker.
TEST_WORKERS ?= 2

test: $(INSTALLED)
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The contract run of the suite (tests/integration/test_api_contract.py) without its fixed
# seed and with more examples: new cases each time, outside CI.
CONTRACT_EXAMPLES ?= 100

contract: $(INSTALLED)
	MEETEASY_CONTRACT_SEED= MEETEASY_CONTRACT_EXAMPLES=$(CONTRACT_EXAMPLES) \
		MEETEASY_CONTRACT_TIMEOUT=3600 $(VENV)/bin/python -m pytest -p no:cacheprovider -rP \
		tests/integration/test_api_contract.py

bench: $(INSTALLED)
	$(VENV)/bin/python bench/pipeline.py
