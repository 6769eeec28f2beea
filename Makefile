# mirec front door. `make demo` and `make test` do their own set-up on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(if $(MIREC_DATA),$(MIREC_DATA),../shared/data)
WORKDIR ?= runs
SEEDS ?= 0
# Offline stand-ins for MGNM's Amazon 2014 ratings files (set to "toys instruments" when
# ratings_Toys_and_Games.csv / ratings_Musical_Instruments.csv are in DATA_DIR).
MGNM_DATASETS ?= toys-s3rec instruments-2018
MIRACLE_DATASETS ?= scientific
# Registry names of the datasets whose item text is encoded (one per MIRACLE_DATASETS entry).
TEXT_DATASETS ?= amazon-2018-scientific
TEXT_ENCODER ?= minilm

.PHONY: install demo test test-all lint bench reproduce-table1 reproduce-umi-table2 \
	reproduce-mgnm-table2 reproduce-mgnm-table3 reproduce-mgnm-figures \
	reproduce-miracle-table2 reproduce-miracle-table3 reproduce-miracle-table4 text-features clean

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

reproduce-mgnm-table2: $(STAMP)
	for d in $(MGNM_DATASETS); do $(PY) experiments/reproduce.py --table=mgnm_table2 \
		--dataset=$$d --data_dir=$(DATA_DIR) --workdir=$(WORKDIR)/mgnm_table2 \
		--seeds=$(SEEDS) || exit 1; done

reproduce-mgnm-table3: $(STAMP)
	$(PY) experiments/reproduce.py --table=mgnm_table3 --dataset=$(firstword $(MGNM_DATASETS)) \
		--data_dir=$(DATA_DIR) --workdir=$(WORKDIR)/mgnm_table3 --seeds=$(SEEDS)

# Figures 3-4 (graph layers L, interests K) as tables and PNG plots.
reproduce-mgnm-figures: $(STAMP)
	$(PY) -m pip install -q -e '.[plot]'
	for t in mgnm_fig3_layers mgnm_fig4_interests; do \
		$(PY) experiments/reproduce.py --table=$$t --dataset=$(firstword $(MGNM_DATASETS)) \
			--data_dir=$(DATA_DIR) --workdir=$(WORKDIR)/$$t --seeds=$(SEEDS) || exit 1; \
		$(PY) experiments/plot_sweep.py \
			--results=$(WORKDIR)/$$t/$(firstword $(MGNM_DATASETS))/$$t.json || exit 1; done

# Item text features for the text-based models (MiniLM offline; BERT-base where available).
text-features: $(STAMP)
	$(PY) -m pip install -q -e '.[text]'
	for d in $(TEXT_DATASETS); do $(PY) -m mirec.data encode-text $$d \
		--data_dir=$(DATA_DIR) --encoder=$(TEXT_ENCODER) --skip_existing || exit 1; done

reproduce-miracle-table2: text-features
	for d in $(MIRACLE_DATASETS); do $(PY) experiments/reproduce.py --table=miracle_table2 \
		--dataset=$$d --data_dir=$(DATA_DIR) --workdir=$(WORKDIR)/miracle_table2 \
		--seeds=$(SEEDS) || exit 1; done

reproduce-miracle-table3 reproduce-miracle-table4: reproduce-miracle-table%: text-features
	$(PY) -m pip install -q -e '.[plot]'
	for d in $(MIRACLE_DATASETS); do $(PY) experiments/reproduce.py --table=miracle_table$* \
		--dataset=$$d --data_dir=$(DATA_DIR) --workdir=$(WORKDIR)/miracle_table$* \
		--seeds=$(SEEDS) || exit 1; \
		$(PY) experiments/plot_sweep.py \
			--results=$(WORKDIR)/miracle_table$*/$$d/miracle_table$*.json || exit 1; done

clean:
	rm -rf $(WORKDIR)/demo .pytest_cache
