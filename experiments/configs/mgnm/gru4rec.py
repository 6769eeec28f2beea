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

import ml_collections

from experiments.configs.mgnm.common import mgnm_table2_config, parse_arg

FLAGS = ("global", "per_user")

# Paper Table 2, GRU4Rec row (Amazon columns), fractions.
PAPER = {
    "Toys and Games": {"GAUC": 0.6624, "NDCG@5": 0.0840, "HIT@5": 0.1278, "MRR@5": 0.0697},
    "Musical Instruments": {"GAUC": 0.6498, "NDCG@5": 0.0619, "HIT@5": 0.1049, "MRR@5": 0.0478},
}


def get_config(arg="toys-s3rec"):
    dataset, flags = parse_arg(arg, FLAGS)
    if {"global", "per_user"} <= flags:
        raise ValueError("flags 'global' and 'per_user' exclude each other")
    split_mode = "global" if "global" in flags else "per_user" if "per_user" in flags else None
    c = mgnm_table2_config(dataset, split_mode)
    c.name = "mgnm/gru4rec/" + ",".join([dataset] + sorted(flags))
    c.paper_model = "GRU4Rec"
    c.paper = ml_collections.ConfigDict(dict(PAPER.get(c.paper_dataset, {})))
    c.model.name = "gru4rec"
    c.model.num_layers = 1
    c.model.dropout = 0.0
    c.loss.readout = "single"
    return c
