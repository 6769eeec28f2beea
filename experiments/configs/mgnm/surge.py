"""SURGE (Chang et al., SIGIR 2021), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/surge.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/SURGE/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.surge`, after tsinghua-fib-lab/SIGIR21-SURGE): metric-learned item
graph over the history (weighted cosine, rank-based sparsification keeping the top half of the
edges), cluster-aware graph attention fusion, cluster- and query-aware node scores, pooling to
the 60 best nodes (60% of m = 100, the official ratio), AUGRU with target attention over the
pooled sequence, logit = MLP([h_s, h_g, e, h_g * e]) (100, 64); d = 16. Costly at test time:
every one of the 1,001 candidates runs two attention MLPs and an AUGRU over the user's history.

Paper's Table 2 (SURGE, fractions): Toys and Games GAUC 0.7863, NDCG@5 0.0930, HIT@5 0.1353,
MRR@5 0.0791; Musical Instruments 0.6902 / 0.1056 / 0.1494 / 0.0913.

Measured: not yet run on the real data.
Smoke run (toys-s3rec, 1 epoch, seed 0, 2 shared CPU cores): 135 s of training per epoch
(107k samples), 541 s per validation pass (12,043 queries x 1,001 candidates), 825 s for the
test; valid GAUC 0.695 after 1 epoch (not a result). ``--config.model.attention_units``
smaller than (80, 40) cuts the evaluation time roughly in proportion.
"""

from experiments.configs.mgnm.common import baseline_config
from mirec.models import surge


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "surge", "SURGE")
    c.model.update(surge.default_model_config())
    c.model.embedding_dim = 16
    return c
