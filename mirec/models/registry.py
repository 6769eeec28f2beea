"""Builds a :class:`MultiInterestModel` from the ``config.model`` / ``config.loss`` sections."""

from __future__ import annotations

import importlib

from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.towers.item import ItemTower

# model name -> module defining build_tower(item_tower, info, cfg), or build_model(config, info)
# when the model needs more than a user tower over the shared id item tower (e.g. a text-based
# item tower or a masked-item objective). Such a model must offer MultiInterestModel's
# interface: call(features) -> (B, K, D), encode_users, item_embeddings, compute_loss.
MODULES = {
    "youtube_dnn": "mirec.models.youtube_dnn",
    "mind": "mirec.models.mind",
    "sine": "mirec.models.sine",
    "gru4rec": "mirec.models.gru4rec",
    "caser": "mirec.models.caser",
    "sasrec": "mirec.models.sasrec",
    "mcprn": "mirec.models.mcprn",
    "comirec_dr": "mirec.models.comirec",
    "comirec_sa": "mirec.models.comirec",
    "umi": "mirec.models.umi",
    "dssm": "mirec.models.dssm",
    # MGNM (SIGIR'22) and its target-aware baselines (sampled-candidate scoring).
    "mgnm": "mirec.models.mgnm",
    "a2svd": "mirec.models.a2svd",
    "slirec": "mirec.models.slirec",
    "mimn": "mirec.models.mimn",
    "surge": "mirec.models.surge",
    # MIRACLE (SIGIR'23) and its text-based / pre-trained baselines.
    "miracle": "mirec.models.miracle",
    "unisrec": "mirec.models.unisrec",
    "fdsa": "mirec.models.fdsa",
    "bert4rec": "mirec.models.bert4rec",
    "s3rec": "mirec.models.s3rec",
}


def register(name: str, module: str):
    """Registers an extra model module (e.g. from user code)."""
    MODULES[name] = module


def available_models():
    return sorted(MODULES)


def build_model(config, info) -> MultiInterestModel:
    """The model of ``config.model.name`` for a dataset described by ``info``."""
    name = config.model.name
    if name not in MODULES:
        raise ValueError(f"unknown model {name!r}; available: {available_models()}")
    module = importlib.import_module(MODULES[name])
    if hasattr(module, "build_model"):
        return module.build_model(config, info)
    item_tower = ItemTower(info.num_items, config.model.embedding_dim, name="item_tower")
    user_tower = module.build_tower(item_tower, info, config.model)
    loss = LossConfig(**dict(config.loss))
    return MultiInterestModel(item_tower, user_tower, loss,
                              extra_loss_weight=config.model.get("extra_loss_weight", 1.0),
                              item_popularity=info.item_popularity)
