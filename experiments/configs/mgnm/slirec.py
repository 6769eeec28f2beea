"""SLi-Rec (Yu et al., IJCAI 2019), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/slirec.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/SLi-Rec/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps),
``interval`` (see below).

Model (:mod:`mirec.models.slirec`, the SURGE-framework SLi-Rec): A2SVD long-term vector,
Time4LSTM short-term states with DIN-style target attention (80, 40), a target-aware sigmoid
gate mixing the two, logit = MLP([u, e]) (100, 64); hidden = d = 16. The offline data has no
timestamps, so the time gates see position gaps (steps to the target, steps from the first
action), log-scaled as the framework scales days; with the paper-setting Amazon files the same
position gaps are used (the data pipeline does not pass timestamps). Flag ``interval``: the
T_last gate sees the gap to the previous action (the paper) instead of the time from the first
action (the code).

Paper's Table 2 (SLi-Rec, fractions): Toys and Games GAUC 0.7847, NDCG@5 0.0932, HIT@5 0.1327,
MRR@5 0.0803; Musical Instruments 0.6912 / 0.1078 / 0.1507 / 0.0937.

Measured: not yet run on the real data.
Smoke run (toys-s3rec, 1 epoch, seed 0, 2 shared CPU cores): 107 s of training per epoch
(107k samples), 191 s per validation pass (12,043 queries x 1,001 candidates), 322 s for the
test (28,761 queries); valid GAUC 0.668 after 1 epoch (not a result).
"""

from experiments.configs.mgnm.common import baseline_config
from mirec.models import slirec


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "slirec", "SLi-Rec", flags=("interval",))
    c.model.update(slirec.default_model_config())
    c.model.embedding_dim = 16
    if "interval" in flags:
        c.model.time_last_feature = "interval"
    return c
