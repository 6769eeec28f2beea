"""S3-Rec (Zhou et al., CIKM 2020), a pre-trained baseline of MIRACLE's Table 2.

Command (needs the item text features, see ``fdsa.py``)::

    python experiments/main.py --config=experiments/configs/miracle/s3rec.py:scientific \
        --workdir=runs/miracle_table2/scientific/S3-Rec/seed0 --data_dir=../shared/data

Args: ``<dataset>[,nopretrain]`` (``nopretrain``: fine-tuning from scratch, an ablation).

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10).

Model (:mod:`mirec.models.s3rec`): UniSRec's S3-Rec baseline (``baselines/s3rec.py`` and
``props/S3Rec.yaml`` of RUCAIBox/UniSRec on RecBole 1.0.1): one post-LN Transformer, 2
layers, 2 heads, hidden 300, inner 256, dropout 0.5, GELU, LayerNorm eps 1e-12; pre-training
with AAP, MIP, MAP and SP (weights 1.0, 0.2, 1.0, 0.5; mask probability 0.2) for 300 epochs
at batch 1024 with Adam 1e-3 on the downstream training sequences (every (history, next
item) pair, ``config.pretrain.datasets = ("self",)``), then SASRec-style fine-tuning with
cross-entropy over all items. Attributes on Scientific: UniSRec's choice, each item's own
text vector (projected by ``ReLU(W t + b)``) is its one attribute; on ``synthetic`` the
item's category id.

Cost: a pre-training step costs about five fine-tuning steps (four encoder passes, and AAP
scores every position against all M item texts); 300 epochs of about 42k samples is far
beyond a 2-core CPU session (about 30 s per batch of 1024 measured on a loaded 2-core
machine). Shorten with ``--config.pretrain.epochs=N`` and report N with the result.

Paper's Table 2 (Scientific): Recall@10 0.0684, Recall@50 0.1464, NDCG@10 0.0373,
NDCG@50 0.0541.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from experiments.configs.miracle.fdsa import TEXT_FEATURES
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "S3-Rec"


def get_config(arg="scientific"):
    dataset, flags = parse_arg(arg, ("nopretrain",))
    c = miracle_table2_config(dataset)
    c.name = "miracle/s3rec/" + ",".join([dataset] + sorted(flags))
    attributes = "text" if dataset in TEXT_FEATURES else "category"
    if attributes == "text":
        c.dataset.text_features = TEXT_FEATURES[dataset]
    c.model = ml_collections.ConfigDict(dict(
        name="s3rec", embedding_dim=300, attributes=attributes, num_layers=2, num_heads=2,
        inner_size=256, dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12,
        block="post_ln", mask_prob=0.2, aap_weight=1.0, mip_weight=0.2, map_weight=1.0,
        sp_weight=0.5))
    c.loss.readout = "single"
    c.pretrain = ml_collections.ConfigDict(dict(
        enabled="nopretrain" not in flags, datasets=("self",), epochs=300, batch_size=1024,
        learning_rate=1e-3, optimizer="adam", clipnorm=0.0, min_history=1))
    if dataset == "synthetic":
        c.pretrain.epochs = 2
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
