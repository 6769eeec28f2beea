"""MIND (Li et al., CIKM 2019), a baseline of MIRACLE's Table 2 (no pre-training).

Command::

    python experiments/main.py --config=experiments/configs/miracle/mind.py:scientific \
        --workdir=runs/miracle_table2/scientific/MIND/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10); a
user's score of an item is the max over its interests (as for MIRACLE).

Model (:mod:`mirec.models.mind`): MIND has no official code; the settings are ComiRec's
(whose code base provides the common MIND baseline): D = 64, K = 4 interests, 3 routing
iterations with one shared bilinear map, and MIND's own Gaussian initial logits and dynamic
interest number; no user profile (the Amazon sets have none); the interest closest to the
target is trained against all items (hard readout, ComiRec's ``hard_readout=True``).

Paper's Table 2 (Scientific): Recall@10 0.0632, Recall@50 0.1375, NDCG@10 0.0402,
NDCG@50 0.0561.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "MIND"


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/mind/{dataset}"
    c.model = ml_collections.ConfigDict(dict(name="mind", embedding_dim=64, num_interests=4,
                                             iterations=3, dynamic_interests=True,
                                             init_stddev=1.0, use_profile=False,
                                             mlp_units=()))
    c.loss.readout = "argmax"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
