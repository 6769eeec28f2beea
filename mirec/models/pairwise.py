"""Target-aware (pairwise) scoring on the two-tower spine, shared by A2SVD, SLi-Rec, MIMN, SURGE.

The baselines of MGNM's Table 2 that come from the SURGE / microsoft-recommenders framework
(and MIMN's own code) are CTR-style models: they score a (user history, TARGET item) pair,
usually with an MLP over ``[user representation, target embedding, ...]``, and some of them
look at the history *through* the target (DIN-style attention, AUGRU). They have no single
user vector to take an inner product with. To fit them into :class:`MultiInterestModel`:

* the user tower returns a packed per-user **state** ``q`` of shape ``(batch, K, W)`` (see
  :class:`RowLayout`): everything that does not depend on the target (memory slots, LSTM
  outputs, graph nodes ...), computed once per user;
* ``tower.score(q, c)`` maps that state and candidate embeddings ``c (batch, C, D)`` to logits
  ``(batch, C)``: the target-dependent part, vectorised over candidates;
* :class:`PairwiseModel` trains ``score`` with pointwise binary cross-entropy over the positive
  and ``config.loss.num_negatives`` uniform negatives (accidental hits removed) and exposes
  ``candidate_scores(q, c)``, which :mod:`mirec.evaluation` calls for the 1,001 sampled
  candidates of each query. Training and evaluation go through the same ``score``.

Evaluation scores ``512 x 1,001`` (user, candidate) pairs per call, and a target-aware
attention costs ``O(history length x hidden)`` per pair, so :class:`PairwiseModel` splits the
candidates into chunks whose working set stays under ``score_chunk_elements`` floats, and the
towers drop the all-padding left columns of a batch (histories are left-padded) before any
per-candidate work.

Shared blocks:

* :class:`MLPScorer`: the framework's ``_fcn_net``: ReLU layers (default ``(100, 64)``) and a
  linear output unit. Batch normalisation (``enable_BN`` in the framework's yaml files) is not
  used: its training statistics would mix the (user, candidate) pairs of a batch.
* :class:`AttentionMLP`: DIN's local activation unit / the framework's ``_attention_fcn``:
  ``a_l = MLP([k'_l, q, k'_l - q, k'_l * q])`` with ``k'_l = k_l W`` (``project_keys``), then a
  softmax over l restricted to real positions.
* :func:`masked_scan`: a recurrence over the history in which padded steps keep the state.
* :class:`RowLayout`: packs named blocks into ``q`` and back.

Public API: :class:`PairwiseModel`, :class:`TargetAwareTower`, :class:`MLPScorer`,
:class:`AttentionMLP`, :class:`RowLayout`, :func:`masked_scan`, :func:`score_in_chunks`,
:func:`pointwise_loss`, :func:`trim_left_padding`, :func:`mean_real_length`,
:func:`sequence_positions`.
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.attention import masked_softmax
from mirec.models.base import MultiInterestModel
from mirec.models.losses import sample_negatives
from mirec.towers.user import SequenceUserTower

PAIRWISE_LOSSES = ("bce", "bpr", "sampled_softmax")


# ----------------------------------------------------------------------------- small helpers


class RowLayout:
    """Packs named per-user blocks ``(batch, rows_i, width_i)`` into one ``(batch, K, W)``.

    ``K = sum(rows_i)``, ``W = max(width_i)``; narrower blocks are zero-padded on the right.

    Example:
      >>> layout = RowLayout([("steps", 3, 5), ("long", 1, 4)])
      >>> q = layout.pack(steps=tf.ones((2, 3, 5)), long=tf.ones((2, 1, 4)))
      >>> q.shape, layout.unpack(q)["long"].shape
      (TensorShape([2, 4, 5]), TensorShape([2, 1, 4]))
    """

    def __init__(self, blocks):
        self.blocks = [(str(n), int(r), int(w)) for n, r, w in blocks]
        self.width = max(w for _, _, w in self.blocks)
        self.num_rows = sum(r for _, r, _ in self.blocks)

    def pack(self, **tensors):
        parts = []
        for name, rows, width in self.blocks:
            t = tf.convert_to_tensor(tensors[name], tf.float32)
            if t.shape[1] != rows or t.shape[2] != width:
                raise ValueError(f"block {name!r} must be (batch, {rows}, {width}), got {t.shape}")
            parts.append(tf.pad(t, [[0, 0], [0, 0], [0, self.width - width]]))
        return tf.concat(parts, axis=1)

    def unpack(self, q):
        out, start = {}, 0
        for name, rows, width in self.blocks:
            out[name] = q[:, start:start + rows, :width]
            start += rows
        return out


def sequence_positions(mask):
    """``(k, length)`` for a left-padded ``mask (batch, n)``: ``k`` (batch, n) float is 0 at the
    first real item, 1 at the next ...; ``length`` (batch, 1) the number of real items."""
    m = tf.cast(mask, tf.float32)
    length = tf.reduce_sum(m, axis=1, keepdims=True)
    k = tf.cumsum(m, axis=1) - 1.0
    return k * m, length


def trim_left_padding(mask):
    """Number of trailing columns holding every real item of the batch (at least 1)."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1))
    return tf.maximum(longest, 1)


def mean_real_length(mask):
    """``ceil(#real positions / batch)`` of a ``(batch, n)`` mask (at least 1), int32."""
    m = tf.cast(mask, tf.int32)
    b = tf.maximum(tf.shape(m)[0], 1)
    return tf.maximum((tf.reduce_sum(m) + b - 1) // b, 1)


def masked_scan(step_fn, inputs, mask, initial_state, return_sequences=True):
    """Runs ``state = step_fn(x_t, state)`` over axis 1 of ``inputs``; where ``mask[:, t]`` is
    False the state is carried unchanged (padded steps are skipped).

    Args:
      step_fn: ``(x_t, state) -> new_state``; ``x_t`` has the structure of ``inputs`` without
        axis 1, ``state`` any nest of ``(batch, ...)`` tensors.
      inputs: a nest of ``(batch, n, ...)`` tensors.
      mask: ``(batch, n)`` bool; may have extra trailing axes broadcastable to the states'
        leading axes (e.g. ``(batch, n, C)`` for per-candidate states ``(batch, C, ...)``).
      initial_state: the state before step 0.
      return_sequences: also return the states after every step (stacked on axis 1).

    Returns:
      ``final_state`` or ``(states (batch, n, ...), final_state)``.
    """
    def time_major(x):
        perm = [1, 0] + list(range(2, len(x.shape)))
        return tf.transpose(x, perm)

    xs = tf.nest.map_structure(time_major, inputs)
    ms = time_major(tf.cast(mask, tf.bool))

    def body(state, elems):
        x_t, m_t = elems
        new = step_fn(x_t, state)

        def keep(n, o):
            m = tf.reshape(m_t, tf.concat([tf.shape(m_t), tf.ones([len(o.shape) - len(m_t.shape)],
                                                                   tf.int32)], 0))
            return tf.where(m, n, o)

        return tf.nest.map_structure(keep, new, state)

    if not return_sequences:
        return tf.foldl(body, (xs, ms), initializer=initial_state)
    states = tf.scan(body, (xs, ms), initializer=initial_state)
    final = tf.nest.map_structure(lambda s: s[-1], states)
    return tf.nest.map_structure(time_major, states), final


def score_in_chunks(score_fn, c, chunk):
    """``score_fn(c_chunk (batch, k, D)) -> (batch, k)`` applied to chunks of ``chunk`` candidates
    of ``c (batch, C, D)`` one after the other (bounded memory); returns ``(batch, C)``."""
    b, n = tf.shape(c)[0], tf.shape(c)[1]
    chunk = tf.maximum(1, tf.minimum(tf.cast(chunk, tf.int32), n))
    num = (n + chunk - 1) // chunk
    padded = tf.pad(c, [[0, 0], [0, num * chunk - n], [0, 0]])
    chunks = tf.transpose(tf.reshape(padded, [b, num, chunk, c.shape[-1]]), [1, 0, 2, 3])
    out = tf.map_fn(score_fn, chunks, parallel_iterations=1,
                    fn_output_signature=tf.TensorSpec([None, None], tf.float32))
    return tf.reshape(tf.transpose(out, [1, 0, 2]), [b, num * chunk])[:, :n]


def pointwise_loss(kind, pos, neg, valid=None):
    """Mean loss of logits ``pos (batch,)`` against ``neg (batch, n)``.

    ``bce``: ``mean(-log s(pos)) + sum(-log s(-neg) * valid) / sum(valid)`` (MGNM Eq. 16, and
    :mod:`mirec.models.losses`' "bce"); ``bpr``: ``-log s(pos - neg)`` over valid pairs;
    ``sampled_softmax``: cross-entropy of the positive among ``[pos, neg]`` (the framework's
    group "softmax" loss; uniform negatives, so no logQ correction is needed). ``valid``
    (batch, n) marks real negatives (accidental hits False).
    """
    valid = tf.ones_like(neg) if valid is None else tf.cast(valid, neg.dtype)
    denom = tf.maximum(tf.reduce_sum(valid), 1.0)
    if kind == "bce":
        return (tf.reduce_mean(-tf.math.log_sigmoid(pos))
                + tf.reduce_sum(-tf.math.log_sigmoid(-neg) * valid) / denom)
    if kind == "bpr":
        return -tf.reduce_sum(tf.math.log_sigmoid(pos[:, None] - neg) * valid) / denom
    if kind == "sampled_softmax":
        logits = tf.concat([pos[:, None], tf.where(valid > 0, neg, -1e9)], axis=1)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.zeros_like(pos, tf.int32), logits=logits))
    raise ValueError(f"pairwise models train with {PAIRWISE_LOSSES}, got {kind!r}")


# ----------------------------------------------------------------------------- layers


@tf.keras.utils.register_keras_serializable(package="mirec")
class MLPScorer(tf.keras.layers.Layer):
    """The framework's prediction network ``_fcn_net``: hidden layers, then one linear logit.

    Input ``(..., features)``, output ``(...)`` logits.

    Args:
      units: hidden layer widths (framework default ``(100, 64)``; MIMN ``(200, 80)``).
      activation: of the hidden layers (framework: ReLU; MIMN's code: PReLU, here ReLU).
      dropout: rate after each hidden layer in training (framework default 0).

    Example:
      >>> MLPScorer(units=(4,))(tf.ones((2, 3, 5))).shape
      TensorShape([2, 3])
    """

    def __init__(self, units=(100, 64), activation="relu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(int(u) for u in units)
        self.activation = activation
        self.dropout = float(dropout)
        self.hidden = [tf.keras.layers.Dense(u, activation=activation, name=f"hidden_{i}")
                       for i, u in enumerate(self.units)]
        self.drop = tf.keras.layers.Dropout(self.dropout)
        self.out = tf.keras.layers.Dense(1, name="logit")

    def call(self, x, training=None):
        for layer in self.hidden:
            x = layer(x)
            if self.dropout > 0:
                x = self.drop(x, training=training)
        return tf.squeeze(self.out(x), -1)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation, dropout=self.dropout)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class AttentionMLP(tf.keras.layers.Layer):
    """DIN-style attention weights over a sequence for a query (``_attention_fcn``).

    ``k'_l = k_l W`` (when ``project_keys``; W is ``key_dim x query_dim``, bias-free), logits
    ``a_l = MLP([k'_l, q, k'_l - q, k'_l * q])`` (hidden ``units`` with ``activation``, then one
    linear unit), weights ``softmax_l(a_l)`` over positions where ``mask`` is True (rows without
    any get zeros).

    ``query (..., 1 or n, query_dim)`` and ``keys (..., n, key_dim)`` broadcast against each
    other, e.g. one target per candidate ``(B, C, 1, d)`` against shared keys ``(B, 1, n, d)``
    gives ``(B, C, n)`` weights; a query per position ``(B, n, d)`` (SURGE's cluster-aware
    attention) gives ``(B, n)``. ``mask`` broadcasts to the output.

    The first layer is evaluated without building the concatenation: with its kernel split into
    ``[W_k; W_q; W_s; W_p]``, ``[k, q, k - q, k * q] W = k (W_k + W_s) + q (W_q - W_s) +
    (k * q) W_p``, so the key and query terms are computed once per key / per query and only the
    product term per pair (:meth:`mlp_on_concat` is the literal form, for tests).
    :meth:`ragged_logits` evaluates the pairs of real positions only.

    Args:
      query_dim: width of the query (and of the projected keys).
      units: hidden widths (framework ``att_fcn_layer_sizes`` ``(80, 40)``; DIN/MIMN too).
      activation: hidden activation (framework ReLU; DIN/MIMN's ``din_attention`` sigmoid).
      project_keys: apply W to the keys (framework yes; MIMN's ``din_attention`` no, then keys
        must already have ``query_dim`` features).

    Example:
      >>> att = AttentionMLP(query_dim=4, units=(8,))
      >>> att(tf.ones((2, 3, 1, 4)), tf.ones((2, 1, 5, 6))).shape
      TensorShape([2, 3, 5])
    """

    def __init__(self, query_dim, units=(80, 40), activation="relu", project_keys=True,
                 **kwargs):
        super().__init__(**kwargs)
        if not units:
            raise ValueError("AttentionMLP needs at least one hidden layer")
        self.query_dim = int(query_dim)
        self.units = tuple(int(u) for u in units)
        self.activation = activation
        self.act = tf.keras.activations.get(activation)
        self.project_keys = bool(project_keys)
        self.key_projection = (tf.keras.layers.Dense(self.query_dim, use_bias=False,
                                                     name="key_projection")
                               if self.project_keys else None)
        self.first = tf.keras.layers.Dense(self.units[0], activation=activation, name="hidden_0")
        self.rest = [tf.keras.layers.Dense(u, activation=activation, name=f"hidden_{i + 1}")
                     for i, u in enumerate(self.units[1:])]
        self.out = tf.keras.layers.Dense(1, name="logit")

    def _project(self, keys):
        if not self.first.built:
            self.first.build(tf.TensorShape([None, 4 * self.query_dim]))
        return self.key_projection(keys) if self.project_keys else keys

    def _head(self, h):
        h = self.act(h)
        for layer in self.rest:
            h = layer(h)
        return tf.squeeze(self.out(h), -1)

    def _pair_logits(self, k, q):
        """Logits of projected keys ``k`` and queries ``q`` (broadcastable shapes)."""
        w_k, w_q, w_s, w_p = tf.split(self.first.kernel, 4, axis=0)
        h = (tf.tensordot(k, w_k + w_s, 1) + tf.tensordot(q, w_q - w_s, 1)
             + tf.tensordot(k * q, w_p, 1) + self.first.bias)
        return self._head(h)

    def mlp_on_concat(self, k, q):
        """The literal ``MLP([k, q, k - q, k * q])`` of projected keys and queries of one shape."""
        return self._head(tf.tensordot(tf.concat([k, q, k - q, k * q], -1), self.first.kernel, 1)
                          + self.first.bias)

    def logits(self, query, keys):
        return self._pair_logits(self._project(keys), query)

    def ragged_logits(self, query, keys, mask):
        """``(B, C, n)`` logits of ``query (B, C, dq)`` against ``keys (B, n, dk)`` computed at
        the positions where ``mask (B, n)`` is True only (0 elsewhere)."""
        k = self._project(keys)
        idx = tf.where(mask)  # (N, 2), row-major: users in order
        kf = tf.gather_nd(k, idx)[:, None, :]  # (N, 1, dq)
        qf = tf.gather(query, idx[:, 0])  # (N, C, dq)
        flat = self._pair_logits(kf, qf)  # (N, C)
        shape = tf.cast(tf.stack([tf.shape(keys)[0], tf.shape(keys)[1], tf.shape(query)[1]]),
                        tf.int64)
        return tf.transpose(tf.scatter_nd(idx, flat, shape), [0, 2, 1])

    def call(self, query, keys, mask=None, return_logits=False):
        logits = self.logits(query, keys)
        if mask is None:
            weights = tf.nn.softmax(logits, axis=-1)
        else:
            weights = masked_softmax(logits, tf.broadcast_to(tf.cast(mask, tf.bool),
                                                             tf.shape(logits)), axis=-1)
        return (weights, logits) if return_logits else weights

    def pair_cost(self):
        """Floats alive per (key, query) pair in :meth:`ragged_logits` (for chunk sizing)."""
        return 3 * (self.units[0] + self.query_dim) + sum(self.units[1:])

    def ragged(self, query, keys, mask):
        """``(B, C, n)`` weights of :meth:`call` for ``query (B, C, dq)``, ``keys (B, n, dk)``,
        ``mask (B, n)``, with the MLP run on real positions only."""
        logits = self.ragged_logits(query, keys, mask)
        return masked_softmax(logits, tf.broadcast_to(mask[:, None, :], tf.shape(logits)),
                              axis=-1)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(query_dim=self.query_dim, units=self.units, activation=self.activation,
                   project_keys=self.project_keys)
        return cfg


# ----------------------------------------------------------------------------- tower and model


class TargetAwareTower(SequenceUserTower):
    """A user tower whose output is a packed state ``q`` and which scores candidates itself.

    Subclasses set ``self.layout`` (:class:`RowLayout`), implement ``encode`` (returning
    ``layout.pack(...)``) and ``score(q, c, training) -> (batch, C)``, and may override
    ``candidate_cost(q)``: floats of working memory per (user, candidate) pair, for chunking.
    """

    scorer_built = False

    def score(self, q, c, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def candidate_cost(self, q):
        """Floats of working memory per (user, candidate) pair while scoring ``q``."""
        return tf.constant(256, tf.int32)

    def build_scorer(self, q):
        """Creates the scoring variables (one dummy candidate) so checkpoints can restore them."""
        self.score(q, tf.zeros([tf.shape(q)[0], 1, self.dim]))
        self.scorer_built = True


class PairwiseModel(MultiInterestModel):
    """:class:`MultiInterestModel` whose user tower scores (user, candidate) pairs itself.

    ``call(features)`` returns the tower's packed state ``(batch, K, W)``; ``compute_loss``
    trains ``tower.score`` with :func:`pointwise_loss` over the positive and
    ``loss.num_negatives`` negatives drawn uniformly (``loss.sampler``) per example or taken from
    ``features["negatives"]``, accidental hits removed (``loss.remove_accidental_hits``), plus the
    tower's ``add_loss`` regularisers times ``extra_loss_weight``; ``candidate_scores(q, c)`` is
    the same ``score`` over chunks of candidates, for :func:`mirec.evaluation.score_candidates`.

    Args:
      score_chunk_elements: working-memory budget (floats) of one candidate chunk at evaluation.
    """

    def __init__(self, item_tower, user_tower, loss=None, extra_loss_weight=1.0,
                 score_chunk_elements=2 ** 24, **kwargs):
        super().__init__(item_tower, user_tower, loss, extra_loss_weight, **kwargs)
        if self.loss_config.kind not in PAIRWISE_LOSSES:
            raise ValueError(f"{type(user_tower).__name__} trains with {PAIRWISE_LOSSES}, "
                             f"got loss kind {self.loss_config.kind!r}")
        self.score_chunk_elements = int(score_chunk_elements)
        self._scores_fn = None

    def call(self, features, training=False):
        q = self.user_tower(features, training=training)
        if not self.user_tower.scorer_built:
            self.user_tower.build_scorer(q)
        return q

    def score(self, q, c, training=False):
        """Logits ``(batch, C)`` of candidate embeddings ``c (batch, C, D)`` for states ``q``."""
        return self.user_tower.score(q, c, training=training)

    def _chunked_scores(self, q, c):
        b = tf.shape(q)[0]
        cost = tf.maximum(self.user_tower.candidate_cost(q), 1)
        chunk = tf.maximum(1, self.score_chunk_elements // tf.maximum(b * cost, 1))
        return score_in_chunks(lambda cc: self.user_tower.score(q, cc, training=False), c, chunk)

    def candidate_scores(self, q, c):
        """``(batch, C)`` scores of candidates ``c (batch, C, D)`` for states ``q (batch, K, W)``
        (the evaluation's sampled-candidate scoring)."""
        q = tf.convert_to_tensor(q, tf.float32)
        if not self.user_tower.scorer_built:  # no variable may be created inside the chunk loop
            self.user_tower.build_scorer(q)
        if self._scores_fn is None:
            self._scores_fn = tf.function(self._chunked_scores, reduce_retracing=True)
        return self._scores_fn(q, tf.convert_to_tensor(c, tf.float32))

    def train_step(self, inputs):
        """``tfrs.Model.train_step`` without adding ``self.losses`` a second time:
        :meth:`compute_loss` already includes the tower's regularisers (times
        ``extra_loss_weight``), and tfrs would add them again unweighted."""
        with tf.GradientTape() as tape:
            loss = self.compute_loss(inputs, training=True)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        metrics = {m.name: m.result() for m in self.metrics}
        metrics["loss"] = loss
        return metrics

    def compute_loss(self, features, training=False):
        cfg = self.loss_config
        q = self.user_tower(features, training=training)
        targets = tf.cast(features["target"], tf.int64)
        if features.get("negatives") is not None:
            neg = tf.cast(features["negatives"], tf.int64)
        else:
            neg = sample_negatives(self.num_items, (tf.shape(targets)[0], cfg.num_negatives),
                                   cfg.sampler)
        ids = tf.concat([targets[:, None], neg], axis=1)
        logits = self.user_tower.score(q, self.item_tower(ids), training=training)
        logits = logits / cfg.temperature
        valid = (tf.not_equal(targets[:, None], neg) if cfg.remove_accidental_hits
                 else tf.ones_like(neg, tf.bool))
        loss = pointwise_loss(cfg.kind, logits[:, 0], logits[:, 1:], valid)
        reg = self.user_tower.losses
        if reg:
            loss = loss + self.extra_loss_weight * tf.add_n(reg)
        return loss
