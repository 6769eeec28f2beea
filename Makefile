# mirec front door. `make demo` and `make test` do their own set-up on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(if $(MIREC_DATA),$(MIREC_DATA),../shared/data)
WORKDIR ?= runs
SEEDS ?= 0

.PHONY: install demo test test-all lint bench reproduce-table1 reproduce-umi-table2 clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,lint]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) experiments/demo.py --workdir=$(WORKDIR)/demo

# The README's test command; .ci/run runs exactly this.
test: $(STAMP)
	$(PY) -m pytest -q

# Includes tests marked slow (covered by faster tests in the default run).
test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check mirec experiments tests

bench: $(STAMP)
	$(PY) experiments/benchmarks/run_all.py --out=$(WORKDIR)/bench

reproduce-table1: $(STAMP)
	$(PY) experiments/reproduce.py --table=sine_table1 --data_dir=$(DATA_DIR) \
		--workdir=$(WORKDIR)/sine_table1 --seeds=$(SEEDS)

reproduce-umi-table2: $(STAMP)
	$(PY) experiments/reproduce.py --table=umi_table2 --dataset=ml-1m --data_dir=$(DATA_DIR) \
		--workdir=$(WORKDIR)/umi_table2 --seeds=$(SEEDS)

clean:
	rm -rf $(WORKDIR)/demo .pytest_cache
