"""The two-tower model every mirec recommender is built on.

A :class:`MultiInterestModel` is a ``tfrs.Model`` with

* an item tower (:class:`mirec.towers.ItemTower`) shared between the user tower's input and
  the output (candidate) side, as in SINE/ComiRec/MIND;
* a user tower: any Keras layer mapping a features dict to interests of shape
  ``(batch_size, num_interests, embedding_dim)`` (K = 1 for single-vector models);
* an objective (:mod:`mirec.models.losses`) and any regularisers the user tower adds with
  ``add_loss`` (e.g. SINE's covariance penalty).

Feature dict conventions (all int32 unless noted):

* ``history``: ``(batch, n)`` item ids, left-padded with 0, most recent item last;
* ``target``: ``(batch,)`` the positive item (training only);
* ``user``: ``(batch,)`` user index (optional), plus profile fields (``gender`` ...).
"""

from __future__ import annotations

import numpy as np

import mirec  # noqa: F401
import tensorflow as tf
import tensorflow_recommenders as tfrs

from mirec.models.losses import LossConfig, retrieval_loss


class MultiInterestModel(tfrs.Model):
    """Two-tower retrieval model whose user tower emits K interest vectors.

    Args:
      item_tower: the shared :class:`ItemTower`.
      user_tower: layer mapping the features dict to ``(batch, K, dim)``.
      loss: :class:`LossConfig` of the training objective.
      extra_loss_weight: multiplies the user tower's ``add_loss`` terms.
      item_popularity: optional ``(M + 1,)`` training counts; in-batch softmax subtracts
        ``log P(target)`` from each in-batch candidate's logit when ``logq_correction`` is on.
    """

    def __init__(self, item_tower, user_tower, loss: LossConfig | None = None,
                 extra_loss_weight: float = 1.0, item_popularity=None, **kwargs):
        super().__init__(**kwargs)
        # log P(item) of the training targets, for in-batch softmax's logQ correction.
        self._item_log_prob = None
        if item_popularity is not None:
            p = np.asarray(item_popularity, np.float64) + 1e-12
            self._item_log_prob = tf.constant(np.log(p / p.sum()), tf.float32)
        self.item_tower = item_tower
        self.user_tower = user_tower
        self.loss_config = loss or LossConfig()
        self.extra_loss_weight = extra_loss_weight

    @property
    def num_items(self):
        return self.item_tower.num_items

    def call(self, features, training=False):
        """Returns the user interests ``(batch, K, dim)``."""
        return self.user_tower(features, training=training)

    def compute_loss(self, features, training=False):
        interests = self.user_tower(features, training=training)
        logq = None
        if self._item_log_prob is not None and self.loss_config.kind == "in_batch":
            logq = tf.gather(self._item_log_prob, tf.cast(features["target"], tf.int32))
        loss = retrieval_loss(self.loss_config, interests, features["target"],
                              self.item_tower, self.num_items, batch_targets_logq=logq,
                              negatives=features.get("negatives"))
        reg = self.user_tower.losses
        if reg:
            loss = loss + self.extra_loss_weight * tf.add_n(reg)
        return loss

    def train_step(self, inputs):
        """``tfrs.Model.train_step`` without counting the user tower's ``add_loss`` terms
        twice: :meth:`compute_loss` already adds them (times ``extra_loss_weight``), and tfrs
        adds every entry of ``self.losses`` again. Other regularisers (e.g. an item embedding
        regulariser) are added once, as tfrs does."""
        with tf.GradientTape() as tape:
            loss = self.compute_loss(inputs, training=True)
            others = tf.reduce_sum([tf.reduce_sum(x) for x in self.losses]) - \
                tf.reduce_sum([tf.reduce_sum(x) for x in self.user_tower.losses])
            total_loss = loss + others
        grads = tape.gradient(total_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        metrics = {m.name: m.result() for m in self.metrics}
        metrics.update(loss=loss, regularization_loss=others, total_loss=total_loss)
        return metrics

    def item_embeddings(self):
        """(M + 1, dim) output embeddings; row 0 is padding and never retrieved."""
        return self.item_tower.all_items()

    def encode_users(self, features, batch_size=1024):
        """Interests for a features dict of numpy arrays, returned as a numpy array."""
        n = len(next(iter(features.values())))
        ds = tf.data.Dataset.from_tensor_slices(features).batch(batch_size)
        if getattr(self, "_encode_fn", None) is None:
            self._encode_fn = tf.function(lambda f: self.user_tower(f, training=False),
                                          reduce_retracing=True)
        outs = [self._encode_fn(b).numpy() for b in ds]
        out = np.concatenate(outs, 0)
        if out.shape[0] != n:  # pragma: no cover - defensive
            raise RuntimeError(f"encoded {out.shape[0]} users, expected {n}")
        return out
