"""SASRec (Kang & McAuley, ICDM 2018), a baseline of MIRACLE's Table 2 (no pre-training).

Command::

    python experiments/main.py --config=experiments/configs/miracle/sasrec.py:scientific \
        --workdir=runs/miracle_table2/scientific/SASRec/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10).

Model (:mod:`mirec.models.sasrec`): UniSRec's SASRec baseline (``run_baseline.py -m SASRec
--hidden_size=300`` on RecBole 1.0.1's ``SASRec.yaml``): hidden 300, 2 blocks, 2 heads,
dropout 0.5, no sqrt(D) input scaling, cross-entropy over all items. Differences from
RecBole that :mod:`mirec.models.sasrec` keeps (official SASRec): pre-LayerNorm blocks with a
ReLU FFN of width D (RecBole: post-LN, GELU, inner size 256, LayerNorm eps 1e-12).

Paper's Table 2 (Scientific): Recall@10 0.1003, Recall@50 0.2010, NDCG@10 0.0550,
NDCG@50 0.0769.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "SASRec"


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/sasrec/{dataset}"
    c.model = ml_collections.ConfigDict(dict(name="sasrec", embedding_dim=300, num_blocks=2,
                                             num_heads=2, dropout=0.5,
                                             scale_embeddings=False))
    c.loss.readout = "single"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
