"""Layers of SINE, the Sparse-Interest Network (Tan et al., WSDM 2021).

One layer per module of the paper's Section 3.2-3.3, plus the covariance regulariser of
Section 3.4:

* :class:`ConceptActivation` (Eq. 1-2): pool the history, score the L prototypes, keep the
  top-K and gate them with the sigmoid of their score.
* :class:`IntentionAssignment` (Eq. 3): ``P_{k|t}``, a softmax over the K activated prototypes
  for every position.
* :class:`AttentionWeighting` (Eq. 4): ``P_{t|k}``, K self-attentive softmaxes over positions.
* :class:`InterestEmbedding` (Eq. 5): the K interest vectors ``phi_k``.
* :class:`InterestAggregation` (Eq. 6-8): predicts the next intention ``C_apt`` and mixes the
  interests into one user vector ``v^u``.
* :func:`prototype_covariance_loss` (Eq. 10).

Every softmax over positions masks padding (weight exactly 0), which RecBole's port does not.
Layers whose computation differs in the official TensorFlow 1 code (Qiaoyut/SINE) take
``variant="paper" | "official"``; what each switch changes is listed in the layer docstrings
and in :mod:`mirec.models.sine`. Positional embeddings are owned by the tower and passed in as
``positions`` (``(seq_len, dim)`` or ``(batch_size, seq_len, dim)``); they are only ever added
to the input of a tanh attention layer, never to the vectors that are summed.
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import math

import tensorflow as tf

from mirec.layers.attention import SelfAttentivePooling, masked_softmax

VARIANTS = ("paper", "official")


def _check_variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def _pooling(hidden_units, use_bias, name):
    """Single-head self-attentive pooling; ``use_bias`` adds a bias inside the tanh layer
    (the official code's ``tf.layers.dense`` has one, the paper's Eq. 1/6 has none)."""
    pool = SelfAttentivePooling(hidden_units, num_heads=1, name=name)
    if use_bias:
        pool.w1 = tf.keras.layers.Dense(hidden_units, activation="tanh", use_bias=True,
                                        name="w1")
    return pool


def _add_positions(x, positions):
    return x if positions is None else x + tf.cast(positions, x.dtype)


def prototype_covariance_loss(prototypes, center="prototypes"):
    """Covariance regulariser of the prototype matrix (Eq. 10).

    ``M = (1/D) (C - Cbar)(C - Cbar)^T`` (``L x L``) and
    ``L_c = 0.5 * (||M||_F^2 - ||diag(M)||^2)``, i.e. half the sum of squared off-diagonal
    covariances (DeCov, Cogswell et al. 2015).

    Args:
      prototypes: ``C`` of shape ``(num_prototypes, dim)``.
      center: ``"prototypes"`` (default): ``Cbar`` is the mean prototype (mean over the L
        rows, broadcast to ``L x D``). ``"features"``: every prototype is centred by the mean
        of its own D coordinates (the reading that matches DeCov's per-variable mean when the
        D coordinates are the samples; this is also what RecBole's port does).

    Returns:
      Scalar loss (not yet multiplied by lambda).
    """
    c = tf.convert_to_tensor(prototypes)
    if center == "prototypes":
        c = c - tf.reduce_mean(c, axis=0, keepdims=True)
    elif center == "features":
        c = c - tf.reduce_mean(c, axis=1, keepdims=True)
    else:
        raise ValueError(f"center must be 'prototypes' or 'features', got {center!r}")
    dim = tf.cast(tf.shape(c)[1], c.dtype)
    cov = tf.matmul(c, c, transpose_b=True) / dim
    diag = tf.linalg.diag_part(cov)
    return 0.5 * (tf.reduce_sum(tf.square(cov)) - tf.reduce_sum(tf.square(diag)))


@tf.keras.utils.register_keras_serializable(package="mirec")
class ConceptActivation(tf.keras.layers.Layer):
    """Sparse concept activation (Eq. 1-2).

    ``a = softmax_t(tanh(X W1) w2)`` (masked), ``z = a^T X``, ``s = C z`` (``(L,)``, raw inner
    products), ``idx = top-K(s)``, ``C^u = C[idx] * sigmoid(s[idx])``.

    The prototype matrix ``C`` (``num_prototypes x dim``) is a weight of this layer unless
    ``use_prototype_weights=False``, in which case it must be passed to ``call`` (SINE-cate).

    Args:
      num_prototypes: L.
      num_interests: K (<= L).
      hidden_units: width of ``W1``; None = D (paper); the official code uses 512.
      variant: ``"paper"``: ``W1`` has no bias. ``"official"``: ``W1`` has a bias. (The official
        code also adds positional embeddings to the attention input; pass ``positions``.)
      use_prototype_weights: create ``C`` as a weight of this layer.
      prototype_initializer: initializer of ``C``.

    Call args:
      inputs: ``X`` of shape ``(batch_size, seq_len, dim)`` (padding rows zero).
      mask: ``(batch_size, seq_len)`` bool, True at real items.
      positions: optional ``(seq_len, dim)`` added to the attention input only.
      prototypes: optional ``(num_prototypes, dim)`` overriding the layer's ``C``.

    Returns:
      ``(activated, indices, scores)``: gated activated prototypes
      ``(batch_size, num_interests, dim)``, their int32 indices ``(batch_size, num_interests)``
      (in decreasing score order) and all scores ``s`` ``(batch_size, num_prototypes)``.

    Example:
      >>> layer = ConceptActivation(num_prototypes=6, num_interests=2)
      >>> c, idx, s = layer(tf.ones((3, 5, 4)), mask=tf.ones((3, 5), bool))
      >>> c.shape, idx.shape, s.shape
      (TensorShape([3, 2, 4]), TensorShape([3, 2]), TensorShape([3, 6]))
    """

    def __init__(self, num_prototypes, num_interests, hidden_units=None, variant="paper",
                 use_prototype_weights=True, prototype_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_prototypes = int(num_prototypes)
        self.num_interests = int(num_interests)
        if self.num_interests > self.num_prototypes:
            raise ValueError(f"num_interests ({num_interests}) > num_prototypes "
                             f"({num_prototypes})")
        self.hidden_units = None if hidden_units is None else int(hidden_units)
        self.variant = _check_variant(variant)
        self.use_prototype_weights = bool(use_prototype_weights)
        self.prototype_initializer = tf.keras.initializers.get(prototype_initializer)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        if self.use_prototype_weights:
            self.prototypes = self.add_weight(
                name="prototypes", shape=(self.num_prototypes, dim),
                initializer=self.prototype_initializer, trainable=True)
        self.pool = _pooling(self.hidden_units or dim, self.variant == "official",
                             name="concept_pool")
        super().build(input_shape)

    def call(self, inputs, mask=None, positions=None, prototypes=None):
        if prototypes is None:
            if not self.use_prototype_weights:
                raise ValueError("this ConceptActivation has no prototype weights; pass "
                                 "`prototypes`")
            prototypes = self.prototypes
        z = self.pool(_add_positions(inputs, positions), mask=mask, values=inputs)[:, 0, :]
        scores = tf.matmul(z, prototypes, transpose_b=True)  # (B, L)
        top, idx = tf.math.top_k(scores, k=self.num_interests)
        activated = tf.gather(prototypes, idx) * tf.sigmoid(top)[..., None]
        return activated, idx, scores

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_prototypes=self.num_prototypes, num_interests=self.num_interests,
                   hidden_units=self.hidden_units, variant=self.variant,
                   use_prototype_weights=self.use_prototype_weights,
                   prototype_initializer=tf.keras.initializers.serialize(
                       self.prototype_initializer))
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class IntentionAssignment(tf.keras.layers.Layer):
    """Intention assignment ``P_{k|t}`` (Eq. 3), a softmax over the K activated prototypes.

    ``"paper"``: ``logit_{t,k} = LN1(X_t W3) . LN2(C^u_k) / temperature`` (W3 is ``D x D``
    without bias; the paper calls this a cosine but writes LayerNorms, which we follow
    literally; ``temperature`` defaults to 1).
    ``"official"``: ``logit_{t,k} = cos(X_t, C_k) / temperature`` with no W3 and no LayerNorm;
    the official code passes the *un-gated* selected prototypes ``C[idx]`` and uses
    ``temperature = 0.07`` (the default for this variant).

    Call args:
      inputs: ``X`` ``(batch_size, seq_len, dim)``.
      prototypes: activated prototypes ``(batch_size, num_interests, dim)``.
      mask: optional ``(batch_size, seq_len)``; padded rows of the output are set to 0.

    Returns:
      ``P`` of shape ``(batch_size, seq_len, num_interests)``, rows summing to 1 at real items.
    """

    def __init__(self, variant="paper", temperature=None, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.variant = _check_variant(variant)
        if temperature is None:
            temperature = 1.0 if self.variant == "paper" else 0.07
        self.temperature = float(temperature)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        if self.variant == "paper":
            self.w3 = tf.keras.layers.Dense(dim, use_bias=False, name="w3")
            self.ln_items = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                               name="layer_norm_1")
            self.ln_prototypes = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                                    name="layer_norm_2")
        super().build(input_shape)

    def call(self, inputs, prototypes, mask=None):
        if self.variant == "paper":
            q = self.ln_items(self.w3(inputs))
            c = self.ln_prototypes(prototypes)
        else:
            q = tf.math.l2_normalize(inputs, axis=-1)
            c = tf.math.l2_normalize(prototypes, axis=-1)
        logits = tf.matmul(q, c, transpose_b=True) / self.temperature  # (B, n, K)
        p = tf.nn.softmax(logits, axis=-1)
        if mask is not None:
            p = p * tf.cast(mask, p.dtype)[..., None]
        return p

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(variant=self.variant, temperature=self.temperature, epsilon=self.epsilon)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class AttentionWeighting(tf.keras.layers.Layer):
    """Per-interest attention over positions ``P_{t|k}`` (Eq. 4).

    ``"paper"``: K separate self-attentive layers over ``X + P`` (positional embeddings),
    ``a^k = softmax_t(tanh((X + P) W_{k,1}) w_{k,2})``; ``W_{k,1}`` is ``D x hidden`` and
    there are no biases. Computed for all k at once (one matmul; ``w1`` is stored as
    ``(dim, K, hidden)``, ``w2`` as ``(K, hidden)``).
    ``"official"``: one shared ``tanh`` layer (``hidden`` units, with bias) and a dense layer
    to K logits (with bias); the logits are *multiplied* by ``P_{k|t}`` before the softmax over
    positions, i.e. ``softmax_t(logit_{k,t} * P_{k|t})``; ``assignment`` is required.

    Call args:
      inputs: ``X`` ``(batch_size, seq_len, dim)``.
      mask: ``(batch_size, seq_len)``; padded positions get exactly 0 weight.
      positions: optional ``(seq_len, dim)`` added to the attention input.
      assignment: ``P_{k|t}`` ``(batch_size, seq_len, num_interests)`` (official only).

    Returns:
      ``(batch_size, num_interests, seq_len)`` weights, each row summing to 1 over real items.
    """

    def __init__(self, num_interests, hidden_units=None, variant="paper", **kwargs):
        super().__init__(**kwargs)
        self.num_interests = int(num_interests)
        self.hidden_units = None if hidden_units is None else int(hidden_units)
        self.variant = _check_variant(variant)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        hidden = self.hidden_units or dim
        k = self.num_interests
        if self.variant == "paper":
            # Glorot-uniform limits of a D -> hidden and a hidden -> 1 dense layer, per interest.
            lim1, lim2 = math.sqrt(6.0 / (dim + hidden)), math.sqrt(6.0 / (hidden + 1))
            self.w1 = self.add_weight(
                name="w1", shape=(dim, k, hidden),
                initializer=tf.keras.initializers.RandomUniform(-lim1, lim1))
            self.w2 = self.add_weight(
                name="w2", shape=(k, hidden),
                initializer=tf.keras.initializers.RandomUniform(-lim2, lim2))
        else:
            self.hidden = tf.keras.layers.Dense(hidden, activation="tanh", name="w1")
            self.logits = tf.keras.layers.Dense(k, name="w2")
        super().build(input_shape)

    def call(self, inputs, mask=None, positions=None, assignment=None):
        x = _add_positions(inputs, positions)
        if self.variant == "paper":
            # One (B*n, D) x (D, K*hidden) matmul for all K layers (much faster than einsum).
            dim, k, hidden = self.w1.shape
            h = tf.matmul(tf.reshape(x, [-1, dim]), tf.reshape(self.w1, [dim, k * hidden]))
            h = tf.tanh(tf.reshape(h, tf.concat([tf.shape(x)[:2], [k, hidden]], 0)))
            logits = tf.transpose(tf.reduce_sum(h * self.w2, axis=-1), [0, 2, 1])  # (B, K, n)
        else:
            if assignment is None:
                raise ValueError("AttentionWeighting(variant='official') needs `assignment`")
            logits = tf.transpose(self.logits(self.hidden(x)), [0, 2, 1])  # (B, K, n)
            logits = logits * tf.transpose(assignment, [0, 2, 1])
        if mask is None:
            return tf.nn.softmax(logits, axis=-1)
        return masked_softmax(logits, mask[:, None, :], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_interests=self.num_interests, hidden_units=self.hidden_units,
                   variant=self.variant)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class InterestEmbedding(tf.keras.layers.Layer):
    """Interest embeddings (Eq. 5).

    ``"paper"``: ``phi_k = LN3(sum_t P_{k|t} * P_{t|k} * X_t)``.
    ``"official"``: ``phi_k = sum_t a_{k,t} X_t`` with the official attention (which already
    folded ``P_{k|t}`` into its softmax); no LayerNorm; ``assignment`` is ignored.

    Call args:
      inputs: ``X`` ``(batch_size, seq_len, dim)`` (without positional embeddings).
      attention: ``P_{t|k}`` ``(batch_size, num_interests, seq_len)``.
      assignment: ``P_{k|t}`` ``(batch_size, seq_len, num_interests)`` (paper only).

    Returns:
      ``(batch_size, num_interests, dim)``.
    """

    def __init__(self, variant="paper", epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.variant = _check_variant(variant)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if self.variant == "paper":
            self.ln = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                         name="layer_norm_3")
        super().build(input_shape)

    def call(self, inputs, attention, assignment=None):
        if self.variant == "official":
            return tf.matmul(attention, inputs)
        if assignment is None:
            raise ValueError("InterestEmbedding(variant='paper') needs `assignment`")
        w = attention * tf.transpose(assignment, [0, 2, 1])  # (B, K, n)
        return self.ln(tf.matmul(w, inputs))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(variant=self.variant, epsilon=self.epsilon)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class InterestAggregation(tf.keras.layers.Layer):
    """Adaptive interest aggregation (Eq. 6-8).

    Intention sequence ``Xhat = P^u C^u`` (``(batch_size, seq_len, dim)``, ``C^u`` the gated
    activated prototypes).

    ``"paper"``: ``C_apt = LN4(softmax_t(tanh(Xhat W) w4)^T Xhat)`` with its own ``W`` (the
    paper reuses the symbol W3 but gives it its own role; we do not share it with Eq. 3),
    ``e_k = softmax_k(C_apt . phi_k / tau)`` with ``tau = temperature`` (paper 0.1),
    ``v^u = sum_k e_k phi_k``.
    ``"official"``: ``Xhat`` plus the item embeddings (``add_item_embeddings``, the code's
    ``cpt_feat=1``), pooled by a tanh attention (with bias) whose input also has the positional
    embeddings, no LayerNorm; the query is ``Dense_D([mean_k phi_k ; pooled])`` and the
    softmax over k has no temperature (use ``temperature=1``).

    Call args:
      interests: ``phi`` ``(batch_size, num_interests, dim)``.
      assignment: ``P_{k|t}`` ``(batch_size, seq_len, num_interests)``.
      prototypes: gated ``C^u`` ``(batch_size, num_interests, dim)``.
      mask: ``(batch_size, seq_len)``; padded positions get 0 attention.
      item_embeddings: ``X`` ``(batch_size, seq_len, dim)`` (needed if ``add_item_embeddings``).
      positions: optional ``(seq_len, dim)`` added to the attention input.

    Returns:
      ``(user, weights)``: ``v^u`` ``(batch_size, dim)`` and ``e`` ``(batch_size, num_interests)``.
    """

    def __init__(self, hidden_units=None, temperature=0.1, variant="paper",
                 add_item_embeddings=None, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = None if hidden_units is None else int(hidden_units)
        self.temperature = float(temperature)
        self.variant = _check_variant(variant)
        if add_item_embeddings is None:
            add_item_embeddings = self.variant == "official"
        self.add_item_embeddings = bool(add_item_embeddings)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.pool = _pooling(self.hidden_units or dim, self.variant == "official",
                             name="intention_pool")
        if self.variant == "paper":
            self.ln = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                         name="layer_norm_4")
        else:
            self.query = tf.keras.layers.Dense(dim, name="query")
        super().build(input_shape)

    def call(self, interests, assignment, prototypes, mask=None, item_embeddings=None,
             positions=None):
        xhat = tf.matmul(assignment, prototypes)  # (B, n, D)
        if self.add_item_embeddings:
            if item_embeddings is None:
                raise ValueError("add_item_embeddings=True needs `item_embeddings`")
            xhat = xhat + item_embeddings
        pooled = self.pool(_add_positions(xhat, positions), mask=mask, values=xhat)[:, 0, :]
        if self.variant == "paper":
            query = self.ln(pooled)
        else:
            query = self.query(tf.concat([tf.reduce_mean(interests, axis=1), pooled], -1))
        logits = tf.einsum("bkd,bd->bk", interests, query) / self.temperature
        weights = tf.nn.softmax(logits, axis=-1)
        user = tf.einsum("bk,bkd->bd", weights, interests)
        return user, weights

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(hidden_units=self.hidden_units, temperature=self.temperature,
                   variant=self.variant, add_item_embeddings=self.add_item_embeddings,
                   epsilon=self.epsilon)
        return cfg
