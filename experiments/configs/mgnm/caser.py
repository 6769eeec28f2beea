"""Caser (Tang & Wang, WSDM 2018), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/caser.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/Caser/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.caser`): the paper's settings where MGNM is silent: the last L = 5
items as an image, 16 horizontal filters per height 1..5, 4 vertical filters, dropout 0.5, a
user embedding (test users are training users under both splits; a user first seen in the test
period keeps an untrained row under ``global``); d = 16 instead of 50. Scored by inner product
with the item table (single user vector) and trained with the table's pointwise BCE, not
Caser's own T = 3 targets. (The SURGE framework MGNM's baseline list mirrors has L = 3, n_v =
n_h = 128 and an MLP scorer; not used.)

Paper's Table 2 (Caser, fractions): Toys and Games GAUC 0.6234, NDCG@5 0.0679, HIT@5 0.1012,
MRR@5 0.0569; Musical Instruments 0.6763 / 0.0955 / 0.1178 / 0.0883.

Measured: not yet run on the real data.
"""

from experiments.configs.mgnm.common import baseline_config


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "caser", "Caser")
    c.model.markov_order = 5
    c.model.num_horizontal = 16
    c.model.num_vertical = 4
    c.model.dropout = 0.5
    c.model.use_user_embedding = True
    c.loss.readout = "single"
    return c
