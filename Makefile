# codesign: `make demo` and `make test` are all the set-up a fresh clone needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPEC   ?= models/jvowels_lstm/spec.yml
# xdist workers for the test suite; 2 cores here
JOBS   ?= 2

export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: setup test demo lint format train clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; the stamp makes `make setup` idempotent.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

test: setup
	$(PY) -m pytest -n $(JOBS) --durations=10

demo: setup
	$(VENV)/bin/codesign flow $(SPEC)

train: setup
	$(VENV)/bin/codesign train $(SPEC)

lint: setup
	$(VENV)/bin/ruff check codesign tests bench
	$(VENV)/bin/ruff format --check codesign tests bench

format: setup
	$(VENV)/bin/ruff format codesign tests bench
	$(VENV)/bin/ruff check --fix codesign tests bench

clean:
	rm -rf build .pytest_cache
