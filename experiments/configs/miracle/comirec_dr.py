"""ComiRec-DR (Cen et al., KDD 2020), a baseline of MIRACLE's Table 2 (no pre-training).

Command::

    python experiments/main.py --config=experiments/configs/miracle/comirec_dr.py:scientific \
        --workdir=runs/miracle_table2/scientific/ComiRec-DR/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10); a
user's score of an item is the max over its interests (as for MIRACLE).

Model (:mod:`mirec.models.comirec`): the official ComiRec defaults: D = 64, K = 4 interests,
dynamic routing with a bilinear map per capsule, zero initial logits, 3 iterations; the
interest closest to the target is trained against all items (``hard_readout``); no
diversity re-ranking (MIRACLE does not mention it).

Paper's Table 2 (Scientific): Recall@10 0.0313, Recall@50 0.0913, NDCG@10 0.0176,
NDCG@50 0.0302.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "ComiRec-DR"


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/comirec_dr/{dataset}"
    c.model = ml_collections.ConfigDict(dict(name="comirec_dr", variant="dr", embedding_dim=64,
                                             num_interests=4, iterations=3))
    c.loss.readout = "argmax"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
