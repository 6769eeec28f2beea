"""MIRACLE (Tang et al., SIGIR 2023): Table 2 row, Tables 3-4 sweeps, Figures 3-4 settings.

Command::

    python experiments/main.py --config=experiments/configs/miracle/miracle.py:scientific \
        --workdir=runs/miracle_table2/scientific/MIRACLE/seed0 --data_dir=../shared/data

Args: ``<dataset>[,<flag>...]``, dataset ``scientific`` or ``synthetic`` (tests; they set
``config.dataset.text_features`` themselves). Flags:

* ``inductive``: text only, no item-ID embeddings (Figure 3);
* ``zero_shot``: pre-train, then evaluate without fine-tuning (Figure 4;
  ``train.epochs = 0``, inductive since an untrained ID table would only add noise);
* ``official``: the official code's model and optimiser (``model.variant = "official"``, see
  :mod:`mirec.models.miracle`; pre-training with AdamW, weight decay 0, gradient-norm clip
  1.0). The evaluation protocol stays the table's (seen items excluded; the official metrics
  do not exclude them: add ``--config.eval.exclude_seen=False``);
* ``no_pretrain``: fine-tune from scratch (no pre-training stage);
* ``layers=N`` (Table 3: L = 1, 2, 3), ``capsules=C`` (Table 4: C = 16, 24, 32, 40).

Model (Sec. 4.1.4): max length 20, 8 experts, 2 Transformer layers, d 300, C 32 capsules;
pre-training lr 1e-3, batch 2048; fine-tuning lr 1e-3, batch 1024 (``common.py``); masking
probability 0.2. From the official code (the paper is silent): 2 heads, FFN 256, dropout 0.3,
3 routing iterations, 3 pre-training epochs, loss weights balance 10 / base-vector contrast
0.01 / interest contrast 0.001 (the paper gives no theta values).

Pre-training data: the paper pre-trains on five Amazon-2018 domains (Food, CDs, Kindle,
Movies, Home; Table 1), which are not available offline. By default we pre-train on the
downstream dataset's own training sequences (``pretrain.datasets = ("self",)``), so
"zero-shot" here means "pre-trained on the target domain's training data, no fine-tuning",
not the paper's cross-domain zero-shot. With the five domains prepared (dataset configs plus
text features), set e.g. ``pretrain.datasets = ("food", "cds", ...)`` and
``pretrain.text_features = {"food": "amazon-food/Food.bert.npz", ...}``.

Item text: ``config.dataset.text_features = "amazon-scientific/Scientific.minilm.npz"``
(under ``--data_dir``), written by the text-encoding step (``python -m mirec.data
encode-text amazon-2018-scientific --encoder minilm --data_dir ../shared/data``): MiniLM
384-d sentence vectors, an offline stand-in for the paper's frozen BERT-base [CLS] (768-d)
features, which need the BERT weights.

Paper's Table 2, Scientific (fractions): Recall@10 0.1343, Recall@50 0.2562, NDCG@10 0.0722,
NDCG@50 0.0988 (``config.paper``; Tables 3-4 give Recall@10 and NDCG@10 only; Figures 3-4
print no numbers).
"""

import ml_collections

from experiments.configs.miracle.common import miracle_table2_config
from mirec import paper_tables
from mirec.models.miracle import default_model_config

FLAGS = ("inductive", "zero_shot", "official", "no_pretrain")
VALUE_FLAGS = ("layers", "capsules")
TEXT_FEATURES = {"scientific": "amazon-scientific/Scientific.minilm.npz"}


def parse_miracle_arg(arg: str):
    """``"scientific,official,layers=3"`` -> (``"scientific"``, {"official"}, {"layers": 3})."""
    dataset, *rest = [p.strip() for p in arg.split(",") if p.strip()] or ["scientific"]
    flags, values = set(), {}
    for part in rest:
        key, eq, value = part.partition("=")
        if eq:
            if key not in VALUE_FLAGS:
                raise ValueError(f"unknown config option {key!r}; known: {VALUE_FLAGS}")
            values[key] = int(value)
        elif part in FLAGS:
            flags.add(part)
        else:
            raise ValueError(f"unknown config flag {part!r}; known: {FLAGS} and "
                             f"{', '.join(k + '=N' for k in VALUE_FLAGS)}")
    if "zero_shot" in flags and "no_pretrain" in flags:
        raise ValueError("zero_shot needs pre-training; drop no_pretrain")
    return dataset, flags, values


def pretrain_config(official: bool = False) -> ml_collections.ConfigDict:
    """``config.pretrain`` (read by :mod:`mirec.pretrain`)."""
    return ml_collections.ConfigDict(dict(
        enabled=True, datasets=("self",), text_features=ml_collections.ConfigDict(),
        epochs=3, batch_size=2048, learning_rate=1e-3,
        optimizer="adamw" if official else "adam", weight_decay=0.0,
        clipnorm=1.0 if official else 0.0, min_history=1))


def get_config(arg="scientific"):
    dataset, flags, values = parse_miracle_arg(arg)
    c = miracle_table2_config(dataset)
    label = ",".join([dataset] + sorted(flags) + [f"{k}={v}" for k, v in sorted(values.items())])
    c.name = "miracle/miracle/" + label
    official = "official" in flags
    c.model = default_model_config("official" if official else "paper")
    if "inductive" in flags or "zero_shot" in flags:
        c.model.mode = "inductive"
    if "layers" in values:
        c.model.num_layers = values["layers"]
    if "capsules" in values:
        c.model.num_capsules = values["capsules"]
    c.pretrain = pretrain_config(official)
    c.pretrain.enabled = "no_pretrain" not in flags
    if "zero_shot" in flags:
        c.train.epochs = 0
    c.dataset.text_features = TEXT_FEATURES.get(dataset, "")
    if dataset == "synthetic":
        c.pretrain.epochs = 1
        c.pretrain.batch_size = 256

    # The paper's numbers for this row.
    column = c.paper_dataset.lower()
    if flags & {"inductive", "zero_shot", "no_pretrain"}:
        paper = {}  # Figures 3-4 print no numbers; no from-scratch MIRACLE in the paper
    elif "layers" in values and "capsules" in values:
        paper = {}
    elif "layers" in values:
        c.paper_table = "miracle_table3"
        paper = paper_tables.MIRACLE_TABLE3.get(column, {}).get(
            f"MIRACLE L={values['layers']}", {})
    elif "capsules" in values:
        c.paper_table = "miracle_table4"
        paper = paper_tables.MIRACLE_TABLE4.get(column, {}).get(
            f"MIRACLE C={values['capsules']}", {})
    else:
        paper = paper_tables.MIRACLE_TABLE2.get(column, {}).get("MIRACLE", {})
    c.paper = ml_collections.ConfigDict(dict(paper))
    return c
