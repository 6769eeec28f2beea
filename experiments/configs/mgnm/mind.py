"""MIND (Li et al., CIKM 2019), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/mind.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/MIND/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps),
``label_aware`` (see below).

Model (:mod:`mirec.models.mind`): behaviour-to-interest routing with one shared bilinear map,
Gaussian initial logits accumulated over 3 iterations, dynamic interest number K_u = max(1,
min(K, log2 |history|)), K = 4 (MGNM's own K; MGNM is silent on the baselines'), no profile
(the Amazon data has none), d = 16. Readout: each candidate is scored with the interest that
matches it best, ``max_k h_k . e`` (``readout='max'``), for the positive and for every
negative, which is MIND's label-aware attention with the candidate as the label in the p ->
infinity limit; the pointwise protocol scores every (user, candidate) pair on its own and the
evaluation's sampled-candidate score is the same max over interests, so training and testing
score alike. Flag ``label_aware``: the soft form, ``softmax_k((h_k . e_target)^p)``-weighted
interests with p = 1 chosen by the positive and applied to its negatives
(:mod:`mirec.models.losses`' ``label_aware``), which the evaluation's max does not match.

Paper's Table 2 (MIND, fractions): Toys and Games GAUC 0.6611, NDCG@5 0.1015, HIT@5 0.1510,
MRR@5 0.0824; Musical Instruments 0.6588 / 0.1040 / 0.1422 / 0.0898.

Measured: not yet run on the real data.
Smoke run (toys-s3rec, 1 epoch, seed 0, 2 shared CPU cores): 9 s of training per epoch, 1 s
per validation pass; valid GAUC 0.651 after 1 epoch (not a result).
"""

from experiments.configs.mgnm.common import baseline_config


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "mind", "MIND", flags=("label_aware",))
    c.model.num_interests = 4
    c.model.iterations = 3
    c.model.dynamic_interests = True
    c.model.init_stddev = 1.0
    c.model.use_profile = False
    c.loss.readout = "label_aware" if "label_aware" in flags else "max"
    c.loss.label_power = 1.0
    return c
