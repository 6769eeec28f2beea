"""ComiRec-DR (Cen et al., KDD 2020), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/comirec_dr.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/ComiRec-DR/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.comirec`, dynamic routing): a bilinear map per capsule, zero initial
logits accumulated over 3 iterations, K = 4 interests (the official default and MGNM's K), d =
16, no diversity re-rank. Readout ``max``: each candidate (positive and negatives) is scored
with its best interest, as the evaluation's max over interests scores the 1,001 candidates;
ComiRec's own training picks the target's interest for its softmax negatives (``argmax``),
which would score the negatives differently from the test.

Paper's Table 2 (ComiRec-DR, fractions): Toys and Games GAUC 0.6681, NDCG@5 0.1131, HIT@5
0.1597, MRR@5 0.0978; Musical Instruments 0.6647 / 0.1091 / 0.1541 / 0.0943.

Measured: not yet run on the real data.
"""

from experiments.configs.mgnm.common import baseline_config


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "comirec_dr", "ComiRec-DR")
    c.model.variant = "dr"
    c.model.num_interests = 4
    c.model.iterations = 3
    c.loss.readout = "max"
    return c
