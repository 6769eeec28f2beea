"""MIMN (Pi et al., KDD 2019), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/mimn.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/MIMN/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.mimn`, after UIC-Paper/MIMN): GRU-controlled NTM memory of m = 4
slots of width d = 16, memory utilisation regularisation (utilisation fed back to the
controller, variance penalty 1e-6), memory induction unit (one GRU channel per slot, the top-
read slot updated per step); target read-out through one more controller step, DIN attention
(80, 40, sigmoid) over the channels, logit = MLP (200, 80) over [e, history sum, read-out,
channel summary, mean memory * e]. Simplified: no NTM shift/sharpen on the write head, ReLU
instead of PReLU, no batch normalisation.

Paper's Table 2 (MIMN, fractions): Toys and Games GAUC 0.7224, NDCG@5 0.1158, HIT@5 0.1676,
MRR@5 0.0988; Musical Instruments 0.6787 / 0.0955 / 0.1509 / 0.0750.

Measured: not yet run on the real data.
Smoke run (toys-s3rec, 1 epoch, seed 0, 2 shared CPU cores): 299 s of training per epoch
(107k samples; the memory recurrence is sequential), 48 s per validation pass, 96 s for the
test; valid GAUC 0.685 after 1 epoch (not a result).
"""

from experiments.configs.mgnm.common import baseline_config
from mirec.models import mimn


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "mimn", "MIMN")
    c.model.update(mimn.default_model_config())
    c.model.embedding_dim = 16
    return c
