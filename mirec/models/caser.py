"""Caser: convolutional sequence embedding (Tang & Wang, WSDM 2018).

Jiaxi Tang and Ke Wang, "Personalized Top-N Sequential Recommendation via Convolutional
Sequence Embedding", WSDM 2018. Baseline of SINE Table 1 (Tan et al., WSDM 2021).

Structure (one interest, K = 1). The L most recent items form an ``L x D`` "image"
``X`` (row l = embedding of the l-th of the last L items, oldest first):

* horizontal filters ``F^h_j`` of height ``h`` (``h = 1..L``, ``n_h`` filters per height,
  each ``h x D``): ``c_i = ReLU(<X[i:i+h], F^h_j> + b)`` for ``i = 1..L-h+1``, then max
  over ``i``; output ``o`` of size ``L * n_h``;
* vertical filters ``F~_k`` (``n_v`` of them, each ``L x 1``): ``o~_k = sum_l F~_k[l] X[l] + b``
  (a learned weighted sum of the L rows, no activation), output ``n_v * D``;
* ``z = ReLU(W [o~; o] + b)`` (size D) after dropout on ``[o~; o]``;
* Caser's output layer scores items with ``W'_item . [z; P_u]`` where ``P_u`` is a user
  embedding. Our items are scored by inner product with the *shared* item table, so the
  user vector is the linear projection ``u = W_out [z; P_u] + b_out`` (size D); with
  ``use_user_embedding=False`` it is ``W_out z + b_out``.

Choices and what they rest on:

* Paper defaults: L = 5, n_h = 16 (per height), n_v = 4, dropout 0.5, ReLU for the
  convolutions and the fully connected layer. The paper uses d = 50; SINE fixes D = 128.
* Histories shorter than L leave zero rows at the top of the image (left padding, padded
  embeddings are zero), so padded ids never change the output.
* The user embedding (``P_u``, D units, ``DatasetInfo.num_users`` rows, indexed by
  ``features["user"]``) is on by default as in the paper; switch it off
  (``use_user_embedding=False``) for protocols whose test users are unseen in training.
* Objective: Caser trains with binary cross-entropy on T = 3 future targets and 3 sampled
  negatives each. We do NOT: like SINE's baselines we train the next item with the shared
  multi-interest objective (``mirec.models.losses``, sampled softmax, readout
  ``"single"``), and the output layer is the shared item table instead of Caser's separate
  ``W'``/``b'``.

Public API: :class:`CaserTower`, :func:`build_tower`, :func:`default_model_config`,
:func:`default_loss_overrides`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


class CaserTower(SequenceUserTower):
    """Last L items -> convolutions -> ``(batch_size, 1, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n (>= 1); only the last ``markov_order`` items are used.
      markov_order: L, the number of most recent items in the image.
      num_horizontal: n_h, horizontal filters per height 1..L.
      num_vertical: n_v, vertical filters.
      dropout: dropout rate before the fully connected layer (training only).
      num_users: rows of the user embedding table; required when ``use_user_embedding``.
      use_user_embedding: concatenate the user embedding ``P_u`` of ``features["user"]``.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = CaserTower(ItemTower(10, 8), max_len=6, num_users=3)
      >>> tower({"history": tf.constant([[0, 1, 2, 3, 4, 5]]), "user": tf.constant([2])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, markov_order=5, num_horizontal=16, num_vertical=4,
                 dropout=0.5, num_users=None, use_user_embedding=True, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.markov_order = int(min(markov_order, self.max_len))
        self.num_horizontal = int(num_horizontal)
        self.num_vertical = int(num_vertical)
        self.dropout_rate = float(dropout)
        self.use_user_embedding = bool(use_user_embedding)
        if self.use_user_embedding and not num_users:
            raise ValueError("CaserTower needs num_users when use_user_embedding=True")
        L = self.markov_order
        self.horizontal = [
            tf.keras.layers.Conv1D(self.num_horizontal, h, activation="relu",
                                   name=f"horizontal_{h}")
            for h in range(1, L + 1)
        ] if self.num_horizontal > 0 else []
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        self.fc = tf.keras.layers.Dense(self.dim, activation="relu", name="fc")
        self.user_embedding = (
            tf.keras.layers.Embedding(int(num_users), self.dim, name="user_embedding")
            if self.use_user_embedding else None)
        self.out = tf.keras.layers.Dense(self.dim, name="user_out")

    def build(self, input_shape):
        if self.num_vertical > 0:
            self.vertical_kernel = self.add_weight(
                name="vertical_kernel", shape=(self.markov_order, self.num_vertical),
                initializer="glorot_uniform")
            self.vertical_bias = self.add_weight(
                name="vertical_bias", shape=(self.num_vertical, 1), initializer="zeros")
        super().build(input_shape)

    def encode(self, emb, mask, features, training):
        # (B, L, D), most recent last; zero rows on top when the history is shorter than L
        L = self.markov_order
        image = tf.pad(emb, [[0, 0], [L, 0], [0, 0]])[:, -L:, :]
        parts = []
        if self.num_vertical > 0:
            v = tf.einsum("bld,lv->bvd", image, self.vertical_kernel) + self.vertical_bias
            parts.append(tf.reshape(v, (-1, self.num_vertical * self.dim)))
        for conv in self.horizontal:
            parts.append(tf.reduce_max(conv(image), axis=1))  # (B, n_h)
        z = self.fc(self.dropout(tf.concat(parts, axis=-1), training=training))
        if self.user_embedding is not None:
            if "user" not in features:
                raise KeyError("CaserTower with use_user_embedding=True needs features['user']")
            z = tf.concat([z, self.user_embedding(tf.cast(features["user"], tf.int32))], -1)
        return self.out(z)[:, None, :]


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for Caser in SINE's Table 1 setting (D = 128, paper's other defaults)."""
    return ml_collections.ConfigDict(dict(
        name="caser", embedding_dim=128, markov_order=5, num_horizontal=16, num_vertical=4,
        dropout=0.5, use_user_embedding=True))


def default_loss_overrides() -> dict:
    """``config.loss`` fields this model needs: one user vector."""
    return dict(readout="single")


def build_tower(item_tower, info, cfg):
    """Caser tower from ``config.model`` (fields: markov_order, num_horizontal, num_vertical,
    dropout, use_user_embedding)."""
    d = default_model_config()
    return CaserTower(item_tower, info.max_len,
                      markov_order=cfg.get("markov_order", d.markov_order),
                      num_horizontal=cfg.get("num_horizontal", d.num_horizontal),
                      num_vertical=cfg.get("num_vertical", d.num_vertical),
                      dropout=cfg.get("dropout", d.dropout), num_users=info.num_users,
                      use_user_embedding=cfg.get("use_user_embedding", d.use_user_embedding),
                      name="caser")
