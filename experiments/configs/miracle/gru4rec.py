"""GRU4Rec (Hidasi et al., ICLR 2016), a baseline of MIRACLE's Table 2 (no pre-training).

Command::

    python experiments/main.py --config=experiments/configs/miracle/gru4rec.py:scientific \
        --workdir=runs/miracle_table2/scientific/GRU4Rec/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10).

Model (:mod:`mirec.models.gru4rec`): RecBole's GRU4Rec defaults (``GRU4Rec.yaml`` of RecBole
1.0.1, the library UniSRec ran its baselines with): embedding 64, one GRU layer, dropout 0.3,
cross-entropy over all items. RecBole's GRU has 128 units followed by a dense layer back to
64; ours has D = 64 units and uses the final state directly (the matching-style GRU4Rec of
this code base).

Paper's Table 2 (Scientific): Recall@10 0.0602, Recall@50 0.1407, NDCG@10 0.0330,
NDCG@50 0.0503.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "GRU4Rec"


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/gru4rec/{dataset}"
    c.model = ml_collections.ConfigDict(dict(name="gru4rec", embedding_dim=64, num_layers=1,
                                             dropout=0.3))
    c.loss.readout = "single"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
