"""FDSA (Zhang et al., IJCAI 2019), a baseline of MIRACLE's Table 2 (no pre-training).

Command (needs the item text features, see below)::

    python experiments/main.py --config=experiments/configs/miracle/fdsa.py:scientific \
        --workdir=runs/miracle_table2/scientific/FDSA/seed0 --data_dir=../shared/data

Protocol: ``common.py`` (leave-one-out, full ranking over unseen items, Recall/NDCG@10/50,
n = 20, full softmax, batch 1024, Adam 1e-3, early stopping on validation Recall@10).

Model (:mod:`mirec.models.fdsa`): UniSRec's FDSA baseline (``baselines/fdsa.py`` and
``props/FDSA.yaml`` of RUCAIBox/UniSRec on RecBole 1.0.1; MIRACLE uses UniSRec's data and
baselines): item stream + feature stream, 2 post-LN Transformer layers each, 2 heads, hidden
300, inner size 256, dropout 0.5 (hidden and attention), GELU, LayerNorm eps 1e-12,
cross-entropy over all items. Feature of an item on Scientific = its text vector projected
by ``ReLU(W t + b)`` (UniSRec's ``adapter_layers [768, 300]``), read from
``config.dataset.text_features`` (``TEXT_FEATURES``, the same file the MIRACLE and UniSRec
rows use: ``python -m mirec.data encode-text amazon-2018-scientific --encoder minilm
--data_dir ../shared/data`` writes MiniLM 384-d sentence vectors, an offline stand-in for
the BERT-base [CLS] ``.feat1CLS`` features UniSRec's baselines used; point it at a
``--encoder bert-base`` file when the BERT weights are available).
On ``synthetic`` (no text) the feature is the item's category id.

Paper's Table 2 (Scientific): Recall@10 0.0881, Recall@50 0.1656, NDCG@10 0.0589,
NDCG@50 0.0757.
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec.paper_tables import MIRACLE_TABLE2

LABEL = "FDSA"
# Item text features per dataset (relative paths are looked up under --data_dir).
TEXT_FEATURES = {"scientific": "amazon-scientific/Scientific.minilm.npz"}


def get_config(arg="scientific"):
    dataset, _ = parse_arg(arg)
    c = miracle_table2_config(dataset)
    c.name = f"miracle/fdsa/{dataset}"
    feature = "text" if dataset in TEXT_FEATURES else "category"
    if feature == "text":
        c.dataset.text_features = TEXT_FEATURES[dataset]
    c.model = ml_collections.ConfigDict(dict(
        name="fdsa", embedding_dim=300, feature=feature, num_layers=2, num_heads=2,
        inner_size=256, dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12,
        block="post_ln", adapter_activation="relu", feature_pooling="attention"))
    c.loss.readout = "single"
    c.paper_model = LABEL
    c.paper = ml_collections.ConfigDict(MIRACLE_TABLE2.get(dataset, {}).get(LABEL, {}))
    return c
