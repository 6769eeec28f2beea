"""UniSRec (Hou et al., KDD 2022), a pre-trained baseline of MIRACLE's Table 2.

Command::

    python experiments/main.py --config=experiments/configs/miracle/unisrec.py:scientific \
        --workdir=runs/miracle_table2/scientific/UniSRec/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``, dataset ``scientific`` or ``synthetic`` (tests; they set
``config.dataset.text_features`` themselves). Flags:

* ``inductive``: text only, no item-ID table (UniSRec_t / ``train_stage=inductive_ft``);
  default transductive (text + ID, the README's main command and the usual "UniSRec" row);
* ``no_pretrain``: "UniSRec from scratch" (``finetune.py`` without ``-p``): no pre-training
  stage, nothing frozen.

Protocol (``common.py``): leave-one-out, full ranking with the user's earlier items
excluded, Recall/NDCG@10/50, max length 20 (UniSRec's own code uses RecBole's 50; Scientific
histories are short, median 7), fine-tuning batch 1024 and lr 1e-3, at most 100 epochs,
early stopping after 10 on validation Recall@10 (UniSRec's ``finetune.yaml``: NDCG@10,
``stopping_step`` 10, RecBole's batch 2048). One fine-tuning step of 1024 took about 8 s on
the shared 2 cores (34 steps an epoch on Scientific).

Model (:mod:`mirec.models.unisrec`): paper + official ``props/UniSRec.yaml``: MoE adaptor
768 -> 300 (here F -> 300) with 8 parametric-whitening experts, adaptor dropout 0.2, noisy
gating; 2-layer post-LN causal Transformer, 2 heads, FFN 256, GELU, dropout 0.5 (hidden and
attention); temperature 0.07 for the contrasts and the fine-tuning softmax; lambda 1e-3;
item drop 0.2 with probability 0.9 per batch, else word drop. Fine-tuning after
pre-training freezes the position table and the Transformer (``finetune.py`` ``fix_enc``;
``finetune_freeze="paper"`` also freezes the input LayerNorm so that only the adaptor and ID
table train).

Pre-training (``config.pretrain``, read by :mod:`mirec.pretrain`): UniSRec's own settings
(``props/pretrain.yaml``): 300 epochs, Adam lr 1e-3 (RecBole default), no clipping (the
released checkpoint is ``UniSRec-FHCKM-300.pth``, epoch 300), except the batch: the official
8192 was killed at 15.5 GB resident on this 24 GB machine (two encoder passes per batch), so
2048 (MIRACLE's pre-training batch). The paper pre-trains on five Amazon-2018 domains (Food,
Home, CDs, Kindle, Movies: "FHCKM"), not available offline: here ``datasets = ("self",)``,
the downstream set's own training sequences (34,101 samples on Scientific, 17 steps of
2048 an epoch; one step took about 27 s on the shared 2 cores, so 300 epochs are more than
a day: pass e.g. ``--config.pretrain.epochs=10`` for a feasible run). Word-drop augmentation
needs the word-dropped text vectors ``pretrain.text_features_aug`` (``encode-text ...
--word_drop 0.15``, UniSRec's ``.feat2CLS``), loaded by
:meth:`mirec.models.unisrec.UniSRecModel.prepare_pretraining` when the pre-training loop
calls it; otherwise every batch uses item drop.

Item text: ``dataset.text_features = "amazon-scientific/Scientific.minilm.npz"`` (under
``--data_dir``), from ``python -m mirec.data encode-text amazon-2018-scientific --encoder
minilm --data_dir ../shared/data``: MiniLM 384-d sentence vectors, an offline stand-in for
the paper's frozen BERT-base [CLS] (768-d; ``--encoder bert-base --weights DIR`` with local
weights, or ``--from_unisrec Scientific.feat1CLS`` for the released features).

Paper's numbers (MIRACLE Table 2, UniSRec, Scientific, fractions): Recall@10 0.1237,
Recall@50 0.2416, NDCG@10 0.0663, NDCG@50 0.0919 (``config.paper``; transductive with
pre-training; the ``inductive``/``no_pretrain`` rows have no MIRACLE number).
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config, parse_arg
from mirec import paper_tables
from mirec.models.unisrec import default_model_config

FLAGS = ("inductive", "no_pretrain")
TEXT_FEATURES = {"scientific": "amazon-scientific/Scientific.minilm.npz"}
TEXT_FEATURES_AUG = {"scientific": "amazon-scientific/Scientific.minilm-wd0.15.npz"}
# MIRACLE Table 2, UniSRec row, Scientific (also in mirec.paper_tables.MIRACLE_TABLE2).
PAPER_SCIENTIFIC = {"Recall@10": 0.1237, "Recall@50": 0.2416, "NDCG@10": 0.0663,
                    "NDCG@50": 0.0919}


def pretrain_config() -> ml_collections.ConfigDict:
    """``config.pretrain``: UniSRec's ``props/pretrain.yaml`` (batch 8192 -> 2048, memory) on
    the offline data."""
    return ml_collections.ConfigDict(dict(
        enabled=True, datasets=("self",), text_features=ml_collections.ConfigDict(),
        text_features_aug="", epochs=300, batch_size=2048, learning_rate=1e-3,
        optimizer="adam", weight_decay=0.0, clipnorm=0.0, min_history=1))


def get_config(arg="scientific"):
    dataset, flags = parse_arg(arg, FLAGS)
    c = miracle_table2_config(dataset)
    c.name = "miracle/unisrec/" + ",".join([dataset] + sorted(flags))
    c.model = default_model_config("inductive" if "inductive" in flags else "transductive")
    c.pretrain = pretrain_config()
    c.pretrain.enabled = "no_pretrain" not in flags
    c.pretrain.text_features_aug = TEXT_FEATURES_AUG.get(dataset, "")
    c.dataset.text_features = TEXT_FEATURES.get(dataset, "")
    # The objective is UniSRec's own (cosine / 0.07 full softmax); config.loss is unused.
    c.loss.kind = "full_softmax"
    c.loss.readout = "single"
    c.loss.temperature = c.model.temperature
    if dataset == "synthetic":
        c.pretrain.epochs = 1
        c.pretrain.batch_size = 256
    paper = {}
    if not flags:
        table = paper_tables.MIRACLE_TABLE2.get(c.paper_dataset.lower(), {})
        paper = dict(table.get("UniSRec", PAPER_SCIENTIFIC if dataset == "scientific" else {}))
    c.paper = ml_collections.ConfigDict(paper)
    return c
