"""Base class of user towers over an item-history sequence."""

import mirec  # noqa: F401
import tensorflow as tf


class SequenceUserTower(tf.keras.layers.Layer):
    """A user tower that reads ``features["history"]`` (left-padded ids, 0 = padding).

    Subclasses implement ``encode(emb, mask, features, training)`` returning
    ``(batch_size, num_interests, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n.
      profile_vocab: optional ``{feature_name: vocabulary_size}`` of categorical user
        profile fields (MovieLens gender/age/occupation); each is embedded with
        ``profile_dim`` units and ``profile(features)`` returns their concatenation.
    """

    def __init__(self, item_tower, max_len, profile_vocab=None, profile_dim=8, **kwargs):
        super().__init__(**kwargs)
        self.item_tower = item_tower
        self.max_len = int(max_len)
        self.dim = item_tower.embedding_dim
        self.profile_vocab = dict(profile_vocab or {})
        self.profile_dim = int(profile_dim)
        self.profile_embeddings = {
            name: tf.keras.layers.Embedding(size, self.profile_dim, name=f"profile_{name}")
            for name, size in sorted(self.profile_vocab.items())
        }

    def profile(self, features):
        """Concatenated profile embeddings ``(batch, F * profile_dim)`` or None."""
        if not self.profile_embeddings:
            return None
        parts = [emb(tf.cast(features[name], tf.int32))
                 for name, emb in self.profile_embeddings.items()]
        return tf.concat(parts, axis=-1)

    def call(self, features, training=None):
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self.encode(emb, mask, features, training)

    def encode(self, emb, mask, features, training):  # pragma: no cover - abstract
        raise NotImplementedError
