"""The item tower: an id embedding shared by the user tower (input) and the output layer."""

import mirec  # noqa: F401
import tensorflow as tf


class ItemTower(tf.keras.layers.Layer):
    """Embeds item ids 1..M (0 = padding) into ``(..., embedding_dim)``.

    Optionally adds the mean of embedded categorical side features. ``item_features`` is an
    int matrix ``(M + 1, F)`` of feature ids per item (0 = none), e.g. genre ids; feature id
    embeddings share one table of ``num_feature_values`` rows.

    Example:
      >>> tower = ItemTower(num_items=10, embedding_dim=4)
      >>> tower(tf.constant([[1, 2, 0]])).shape
      TensorShape([1, 3, 4])
    """

    def __init__(self, num_items, embedding_dim, item_features=None, num_feature_values=None,
                 embeddings_initializer="glorot_uniform", embeddings_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_items = int(num_items)
        self.embedding_dim = int(embedding_dim)
        self.embeddings_initializer = embeddings_initializer
        self.embedding = tf.keras.layers.Embedding(
            self.num_items + 1, self.embedding_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer, name="item_id_embedding")
        self._item_features = None
        if item_features is not None:
            self._item_features = tf.constant(item_features, dtype=tf.int32)
            n_values = int(num_feature_values or int(tf.reduce_max(self._item_features)) + 1)
            self.feature_embedding = tf.keras.layers.Embedding(
                n_values, self.embedding_dim, name="item_feature_embedding")

    def call(self, ids):
        ids = tf.cast(ids, tf.int32)
        emb = self.embedding(ids)
        if self._item_features is not None:
            feats = tf.gather(self._item_features, ids)  # (..., F)
            fmask = tf.cast(feats > 0, emb.dtype)[..., None]
            femb = self.feature_embedding(feats) * fmask
            femb = tf.reduce_sum(femb, -2) / tf.maximum(tf.reduce_sum(fmask, -2), 1.0)
            emb = emb + femb
        return emb

    def all_items(self):
        """Embeddings of ids 0..M, shape (M + 1, dim); row 0 is padding."""
        return self.call(tf.range(self.num_items + 1))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_items=self.num_items, embedding_dim=self.embedding_dim,
                   embeddings_initializer=self.embeddings_initializer)
        return cfg
