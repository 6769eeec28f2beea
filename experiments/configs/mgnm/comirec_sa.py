"""ComiRec-SA (Cen et al., KDD 2020), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/comirec_sa.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/ComiRec-SA/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.comirec`, self-attention): K = 4 attention heads with hidden width 4d
over item + learned position embeddings, values without positions (official code), d = 16, no
diversity re-rank. Readout ``max`` (each candidate scored with its best interest, as in the
evaluation); see ``comirec_dr.py``.

Paper's Table 2 (ComiRec-SA, fractions): Toys and Games GAUC 0.6486, NDCG@5 0.0665, HIT@5
0.0977, MRR@5 0.0563; Musical Instruments 0.6559 / 0.0820 / 0.1204 / 0.0694.

Measured: not yet run on the real data.
"""

from experiments.configs.mgnm.common import baseline_config


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "comirec_sa", "ComiRec-SA")
    c.model.variant = "sa"
    c.model.num_interests = 4
    c.model.hidden_factor = 4
    c.model.use_positions = True
    c.loss.readout = "max"
    return c
