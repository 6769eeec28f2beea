"""A2SVD (attentive asynchronous SVD; Yu et al., IJCAI 2019), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/a2svd.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/A2SVD/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.a2svd`, the microsoft-recommenders / SURGE-framework A2SVD):
attention-pooled history ``u = sum_j softmax_j((x_j W) . v) x_j`` over real items, logit =
MLP([u, e]) with ReLU (100, 64) (framework yaml), d = 16; trained with the table's pointwise
BCE (the framework's default is a group softmax). Scored per (user, candidate) pair by the
model's ``candidate_scores``.

Paper's Table 2 (A2SVD, fractions): Toys and Games GAUC 0.6846, NDCG@5 0.0507, HIT@5 0.0739,
MRR@5 0.0430; Musical Instruments 0.6652 / 0.0956 / 0.1368 / 0.0820.

Measured: not yet run on the real data.
Smoke run (toys-s3rec, 2 epochs, seed 0, 2 shared CPU cores): about 5-10 s of training
per epoch (107k samples), 14 s per validation pass (12,043 queries x 1,001 candidates), 30 s
for the test (28,761 queries); valid GAUC 0.730, test GAUC 0.656 after 2 epochs (not a
result: no early stopping yet).
"""

from experiments.configs.mgnm.common import baseline_config
from mirec.models import a2svd


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "a2svd", "A2SVD")
    c.model.update(a2svd.default_model_config())
    c.model.embedding_dim = 16
    return c
