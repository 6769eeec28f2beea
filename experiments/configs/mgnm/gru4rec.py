"""GRU4Rec (Hidasi et al., ICLR 2016), a baseline of MGNM's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/mgnm/gru4rec.py:toys-s3rec \
        --workdir=runs/mgnm_table2/toys-s3rec/GRU4Rec/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``; datasets and protocol in ``experiments/configs/mgnm/common.py``
(chronological 7:1:2 split, 1,000 sampled negatives per query, GAUC / NDCG@5 / HIT@5 / MRR@5,
d = 16, batch 256, Adam 1e-3, pointwise BCE with 5 uniform negatives, m = 100). Flags:
``global`` / ``per_user`` override the split (``global`` needs timestamps).

Model (:mod:`mirec.models.gru4rec`): one GRU layer with d = 16 units over the item embeddings,
the final state is the user vector, no dropout (the paper's one-layer setting; dropout was
tuned per loss there). Scored by inner product with the item table and trained with the table's
pointwise BCE over 5 uniform negatives (Hidasi et al. used session-parallel mini-batches with
TOP1/BPR; the SURGE framework adds an MLP scorer; neither is used).

Paper's Table 2 (GRU4Rec, fractions): Toys and Games GAUC 0.6624, NDCG@5 0.0840, HIT@5 0.1278,
MRR@5 0.0697; Musical Instruments 0.6498 / 0.0619 / 0.1049 / 0.0478.

Measured: not yet run on the real data.
"""

from experiments.configs.mgnm.common import baseline_config


def get_config(arg="toys-s3rec"):
    c, flags = baseline_config(arg, "gru4rec", "GRU4Rec")
    c.model.num_layers = 1
    c.model.dropout = 0.0
    c.loss.readout = "single"
    return c
