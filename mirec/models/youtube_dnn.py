"""YouTube DNN (Covington et al., RecSys 2016) as a candidate generator.

User vector = ReLU MLP over [mean of watched-item embeddings, profile embeddings]; the last
layer is linear with the item embedding width. One interest (K = 1).
"""

import mirec  # noqa: F401
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


class YoutubeDNNTower(SequenceUserTower):
    """Mean-pooled history (+ profile) -> MLP -> ``(batch_size, 1, embedding_dim)``."""

    def __init__(self, item_tower, max_len, hidden_units=(), dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.hidden_units = tuple(hidden_units)
        self.mlp = [tf.keras.layers.Dense(u, activation="relu") for u in self.hidden_units]
        self.dropout = tf.keras.layers.Dropout(dropout)
        self.out = (tf.keras.layers.Dense(self.dim, name="user_out")
                    if (self.hidden_units or self.profile_vocab) else None)

    def encode(self, emb, mask, features, training):
        m = tf.cast(mask, emb.dtype)
        h = tf.reduce_sum(emb, 1) / tf.maximum(tf.reduce_sum(m, 1, keepdims=True), 1.0)
        prof = self.profile(features)
        if prof is not None:
            h = tf.concat([h, prof], -1)
        for layer in self.mlp:
            h = self.dropout(layer(h), training=training)
        if self.out is not None:
            h = self.out(h)
        return h[:, None, :]


def build_tower(item_tower, info, cfg):
    """YoutubeDNN tower from ``config.model`` (fields: hidden_units, dropout, use_profile)."""
    vocab = info.profile_vocab if cfg.get("use_profile", False) else None
    return YoutubeDNNTower(item_tower, info.max_len,
                           hidden_units=tuple(cfg.get("hidden_units", ())),
                           dropout=cfg.get("dropout", 0.0), profile_vocab=vocab,
                           profile_dim=cfg.get("profile_dim", 8), name="youtube_dnn")
