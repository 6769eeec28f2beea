"""BERT4Rec (Sun et al., CIKM 2019), a baseline of MIRACLE's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/miracle/bert4rec.py:scientific \
        --workdir=runs/miracle_table2/scientific/BERT4Rec/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, batch 1024, Adam 1e-3, early stopping on validation Recall@10). MIRACLE lists
BERT4Rec "with pre-training": its Cloze objective is its only training (no separate stage,
``config.pretrain`` unset); ``config.loss`` is not used by it.

Model (:mod:`mirec.models.bert4rec`): RecBole 1.0.1's BERT4Rec defaults (``BERT4Rec.yaml``)
with hidden 300 (inferred: UniSRec's README runs its SASRec baseline with
``--hidden_size=300`` and its FDSA/S3-Rec props use 300; no BERT4Rec command is published;
RecBole's default is 64): 2 post-LN layers, 2 heads, inner 256, dropout
0.5 (hidden and attention), GELU, LayerNorm eps 1e-12, mask probability 0.2, no output
projection/bias, full softmax over the items at the masked positions of ``history +
[target]``; inference appends [MASK] to the history. (The paper: d = 64, dropout 0.1, mask
proportion 0.6 on Beauty; ``output_head="paper"`` and ``last_item_mask_prob`` give its
output layer and last-item-only samples.)

Paper's Table 2 (Scientific): Recall@10 0.0650, Recall@50 0.1471, NDCG@10 0.0345,
NDCG@50 0.0522.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "BERT4Rec"


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/bert4rec/{dataset}"
    c.model = ml_collections.ConfigDict(dict(
        name="bert4rec", embedding_dim=300, num_layers=2, num_heads=2, inner_size=256,
        dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12, block="post_ln",
        mask_prob=0.2, last_item_mask_prob=0.0, output_head="none"))
    c.loss.readout = "single"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
