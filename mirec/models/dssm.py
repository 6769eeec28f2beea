"""DSSM as a candidate generator: a user-profile tower only (a baseline of UMI's Table 2).

Huang et al., "Learning Deep Structured Semantic Models for Web Search using Clickthrough
Data", CIKM 2013; as a recommender (UMI Sec. 4.1): two MLP towers, one on the user profile
and one on the item profile, scored by inner product and trained with a softmax over
sampled items. No behaviour sequence: users with the same profile get the same vector.

Differences from UMI's description, on purpose:

* Item side: mirec's :class:`mirec.towers.ItemTower` (shared by every model of a table) is
  an id embedding; UMI's DSSM item tower is an MLP over item profile features. On MovieLens
  the only item profile would be the genres, and an id embedding can represent anything a
  function of the genres can, so this only removes the genre prior. Documented, not fixed.
* User side: the profile fields (MovieLens: gender, age, occupation) are embedded (8 units
  each), concatenated and passed through ReLU layers (``hidden_units``) and a linear layer
  of the item embedding width. The ``history`` feature is ignored.

Public API: :class:`DSSMTower`, :func:`build_tower`, :func:`default_model_config`.
"""

from __future__ import annotations

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


class DSSMTower(SequenceUserTower):
    """Profile fields -> MLP -> ``(batch_size, 1, embedding_dim)``.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = DSSMTower(ItemTower(10, 8), max_len=4, profile_vocab={"gender": 3})
      >>> tower({"history": tf.constant([[0, 1, 2, 3]]), "gender": tf.constant([1])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, hidden_units=(16,), dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if not self.profile_vocab:
            raise ValueError("DSSM needs user profile fields (dataset profile_fields)")
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.mlp = [tf.keras.layers.Dense(u, activation="relu", name=f"user_{i}")
                    for i, u in enumerate(self.hidden_units)]
        self.dropout = tf.keras.layers.Dropout(dropout)
        self.out = tf.keras.layers.Dense(self.dim, name="user_out")

    def call(self, features, training=None):
        h = self.profile(features)
        for layer in self.mlp:
            h = self.dropout(layer(h), training=training)
        return self.out(h)[:, None, :]


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` of DSSM in UMI's MovieLens setting (width 32, profile 8 per field)."""
    return ml_collections.ConfigDict(dict(name="dssm", embedding_dim=32, hidden_units=(16,),
                                          dropout=0.0, use_profile=True, profile_dim=8))


def build_tower(item_tower, info, cfg):
    """DSSM tower from ``config.model`` (hidden_units, dropout, profile_dim)."""
    return DSSMTower(item_tower, info.max_len, hidden_units=tuple(cfg.get("hidden_units", (16,))),
                     dropout=cfg.get("dropout", 0.0), profile_vocab=info.profile_vocab,
                     profile_dim=cfg.get("profile_dim", 8), name="dssm")


__all__ = ["DSSMTower", "build_tower", "default_model_config"]
