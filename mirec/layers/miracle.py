"""The sequence side of MIRACLE (Tang et al., SIGIR 2023): contextual encoder and sparse capsules.

Zuoli Tang, Lin Wang, Lixin Zou, Xiaolu Zhang, Jun Zhou and Chenliang Li, "Towards
Multi-Interest Pre-training with Sparse Capsule Network", SIGIR 2023. Official code
WHUIR/Miracle (PyTorch, RecBole layers); its differences are behind ``variant="official"``.

For a left-padded history of text-adapted item vectors ``x`` (``(B, n, d)``, Eq. 2-4 in
:mod:`mirec.layers.moe`):

* :class:`ContextualEncoder` (Eq. 5-6): ``F^0 = x + P``; L bidirectional Transformer layers
  -> ``H = [h_1..h_n]``.
* :class:`SparseCapsuleActivation` (Eq. 7-8): base vectors ``A`` (C x d); ``s_ij = (h_i . a_j)
  (1 + eps)``; each real item activates its argmax capsule; ``I_u`` = the activated set.
* :class:`PositionAttention` (Eq. 9): one weight ``o_i`` per position, softmax over positions.
* :class:`InterestRouting` (Eq. 10-14): ``q_i = LN(tanh(h_i W5 + b5) + h_i)``;
  ``z_j = sum_i c_ij o_i q_i``; ``c_ij = softmax_j(b_ij + m_ij)`` over the activated capsules;
  ``u_j = squash(z_j)``; ``b_ij += h_i . u_j``; ``b`` starts at ``s`` (Eq. 7).

Shapes: B batch, n history length (<= max_len), d width, C capsules.

Choices where the paper is silent (all from the official code unless said otherwise):

* Transformer: post-LayerNorm BERT layers (RecBole ``TransformerEncoder``): 2 heads, FFN
  width 256 with exact GELU, dropout 0.3 on hidden states and attention weights, LayerNorm
  epsilon 1e-12, N(0, 0.02) initialisation; ``x + P`` goes through a LayerNorm and dropout
  before the first layer. Attention is bidirectional, padded keys are masked.
* Positions are indexed from the END of the history (0 = most recent). The official code
  left-pads to a fixed ``n = max_len`` and indexes from the start; with a fixed n this is
  a relabelling of the same table, and shorter inputs keep their meaning.
* Eq. 7's noise: the paper says "Gaussian noise eps" without a scale; we use the official
  scale 0.2 (``noise="paper"``: ``s (1 + 0.2 eps)``); the official code computes
  ``s + eps (0.2 stop_gradient(s) + 0.01)`` (``noise="official"``). Training only.
* Eq. 8: we read "activated" per user (the union over the user's items, as the official
  code does): an item routes over ALL of the user's activated capsules, starting from
  ``b = s``. (A per-item reading, item i routes only to its own argmax, would make ``c``
  one-hot and the routing iterations void.)
* Eq. 9 prints ``W4`` as d x N with ``b4`` in R^N, which gives N logits per position; we read
  it as one logit per position from that position's own column,
  ``logit_i = tanh((h_i + p~_i) W3 + b3) . W4[:, i] + b4[i]`` (``variant="paper"``). The
  official code uses ``Linear -> Dropout -> LeakyReLU(0.01) -> Linear(d, 1)``, one shared
  column (``variant="official"``).
* Eq. 14: the paper's agreement uses ``h_i``; the official code uses ``q_i``
  (``variant="official"``). No stop-gradient in either; non-activated capsules get routing
  logit -1e9 (so ``c = 0`` and ``u = 0`` there) and padded items get ``c = 0``. The official
  code applies dropout 0.3 inside Eq. 10 before the LayerNorm (``dropout``).
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.capsule import squash

NEG_INF = -1e9
PACKAGE = "mirec.miracle"
VARIANTS = ("paper", "official")
NOISES = ("paper", "official", "none")


def _normal(stddev):
    return tf.keras.initializers.RandomNormal(stddev=stddev)


def _check(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _recency(n):
    """Position ids ``n-1 .. 0`` of a left-padded history (0 = the most recent item)."""
    return tf.range(n - 1, -1, -1)


def _mask_or_ones(mask, x):
    if mask is None:
        return tf.ones(tf.shape(x)[:2], tf.bool)
    return tf.cast(mask, tf.bool)


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class MiracleTransformerLayer(tf.keras.layers.Layer):
    """One post-LayerNorm (BERT) Transformer layer, Eq. 6: ``LN(x + Drop(MHA(x)))`` then
    ``LN(y + Drop(W2 GELU(W1 y)))``.

    Input ``x`` ``(B, n, d)`` and an optional boolean ``attention_mask`` ``(B, n, n)``
    (True = may attend); output ``(B, n, d)``.
    """

    def __init__(self, dim, num_heads=2, inner_dim=256, dropout=0.3, attention_dropout=0.3,
                 epsilon=1e-12, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.num_heads = int(num_heads)
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")
        self.inner_dim = int(inner_dim)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.epsilon = float(epsilon)
        self.initializer_range = float(initializer_range)
        # A fresh initializer per sub-layer: a reused unseeded Keras initializer returns the
        # same values every call.
        self.attention = tf.keras.layers.MultiHeadAttention(
            self.num_heads, self.dim // self.num_heads, dropout=self.attention_dropout,
            kernel_initializer=_normal(self.initializer_range), name="attention")
        self.attention_norm = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                                 name="attention_norm")
        self.ffn_in = tf.keras.layers.Dense(self.inner_dim, activation="gelu",
                                            kernel_initializer=_normal(self.initializer_range),
                                            name="ffn_in")
        self.ffn_out = tf.keras.layers.Dense(self.dim,
                                             kernel_initializer=_normal(self.initializer_range),
                                             name="ffn_out")
        self.ffn_norm = tf.keras.layers.LayerNormalization(epsilon=self.epsilon, name="ffn_norm")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)

    def call(self, x, attention_mask=None, training=None):
        a = self.attention(x, x, attention_mask=attention_mask, training=training)
        x = self.attention_norm(x + self.dropout(a, training=training))
        f = self.ffn_out(self.ffn_in(x))
        return self.ffn_norm(x + self.dropout(f, training=training))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(dim=self.dim, num_heads=self.num_heads, inner_dim=self.inner_dim,
                   dropout=self.dropout_rate, attention_dropout=self.attention_dropout,
                   epsilon=self.epsilon, initializer_range=self.initializer_range)
        return cfg


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class ContextualEncoder(tf.keras.layers.Layer):
    """Deeply-contextualised item embeddings, Eq. 5-6.

    ``H = Transformer^L(Dropout(LN(x + P)))`` with learned positions ``P`` (``max_len x d``,
    indexed from the most recent item) and bidirectional self-attention over the real items.

    Input: ``x`` ``(B, n, d)``, ``mask`` ``(B, n)`` bool (False = padding), n <= max_len.
    Output: ``H`` ``(B, n, d)``, zero at padded positions.

    Sub-layers (for freezing at fine-tuning, Eq. 23-24): ``positions``, ``input_norm``,
    ``blocks``.

    Example:
      >>> enc = ContextualEncoder(max_len=5, dim=4, num_heads=2, inner_dim=8)
      >>> enc(tf.ones((2, 5, 4)), mask=tf.ones((2, 5), bool)).shape
      TensorShape([2, 5, 4])
    """

    def __init__(self, max_len, dim, num_layers=2, num_heads=2, inner_dim=256, dropout=0.3,
                 attention_dropout=0.3, epsilon=1e-12, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.max_len = int(max_len)
        self.dim = int(dim)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.inner_dim = int(inner_dim)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.epsilon = float(epsilon)
        self.initializer_range = float(initializer_range)
        self.positions = tf.keras.layers.Embedding(
            self.max_len, self.dim, embeddings_initializer=_normal(self.initializer_range),
            name="positions")
        self.input_norm = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                             name="input_norm")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        self.blocks = [MiracleTransformerLayer(
            self.dim, self.num_heads, self.inner_dim, self.dropout_rate, self.attention_dropout,
            self.epsilon, self.initializer_range, name=f"layer_{i}")
            for i in range(self.num_layers)]

    def call(self, x, mask=None, training=None):
        mask = _mask_or_ones(mask, x)
        n = tf.shape(x)[1]
        x = x + self.positions(_recency(n))[None]
        x = self.dropout(self.input_norm(x), training=training)
        att = tf.broadcast_to(mask[:, None, :], tf.stack([tf.shape(x)[0], n, n]))
        for block in self.blocks:
            x = block(x, attention_mask=att, training=training)
        return x * tf.cast(mask, x.dtype)[..., None]

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(max_len=self.max_len, dim=self.dim, num_layers=self.num_layers,
                   num_heads=self.num_heads, inner_dim=self.inner_dim, dropout=self.dropout_rate,
                   attention_dropout=self.attention_dropout, epsilon=self.epsilon,
                   initializer_range=self.initializer_range)
        return cfg


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class SparseCapsuleActivation(tf.keras.layers.Layer):
    """Sparse interest-capsule activation, Eq. 7-8.

    ``s_ij = (h_i . a_j)(1 + eps)`` against learned base vectors ``A`` (``C x d``, N(0, 0.02)
    initialised); in training ``noise`` adds exploration noise (``"paper"``:
    ``s (1 + noise_scale eps)``; ``"official"``: ``s + eps (noise_scale stop_grad(s) +
    noise_epsilon)``; ``"none"``), eps ~ N(0, 1). Each real item activates its argmax
    capsule; a capsule is activated for the user when at least one item activates it.

    Input: ``h`` ``(B, n, d)``, ``mask`` ``(B, n)`` bool.
    Output: ``(scores (B, n, C) float, argmax (B, n) int32, activated (B, C) bool)``;
    ``scores`` are the (noisy in training) ``s`` that also initialise the routing logits.
    :meth:`similarity` scores any ``(..., d)`` tensor, :func:`activation_counts` counts the
    items per capsule.
    """

    def __init__(self, num_capsules, noise="paper", noise_scale=0.2, noise_epsilon=0.01,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        _check("noise", noise, NOISES)
        self.num_capsules = int(num_capsules)
        self.noise = noise
        self.noise_scale = float(noise_scale)
        self.noise_epsilon = float(noise_epsilon)
        self.initializer_range = float(initializer_range)

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.base_vectors = self.add_weight(name="base_vectors", shape=(self.num_capsules, d),
                                            initializer=_normal(self.initializer_range))
        super().build(input_shape)

    def similarity(self, h, training=None):
        """``(..., C)`` scores of ``h`` ``(..., d)`` against the base vectors (Eq. 7)."""
        s = tf.tensordot(h, tf.transpose(self.base_vectors), 1)
        if training and self.noise != "none":
            eps = tf.random.normal(tf.shape(s), dtype=s.dtype)
            if self.noise == "paper":
                s = s * (1.0 + self.noise_scale * eps)
            else:
                s = s + eps * (self.noise_scale * tf.stop_gradient(s) + self.noise_epsilon)
        return s

    def call(self, h, mask=None, training=None):
        mask = _mask_or_ones(mask, h)
        s = self.similarity(h, training=training)
        top = tf.argmax(s, axis=-1, output_type=tf.int32)
        activated = activation_counts(top, mask, self.num_capsules) > 0
        return s, top, activated

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_capsules=self.num_capsules, noise=self.noise,
                   noise_scale=self.noise_scale, noise_epsilon=self.noise_epsilon,
                   initializer_range=self.initializer_range)
        return cfg


def activation_counts(argmax, mask, num_capsules):
    """``(B, C)`` float: how many real items of each user activate each capsule."""
    onehot = tf.one_hot(argmax, num_capsules, dtype=tf.float32)
    return tf.reduce_sum(onehot * tf.cast(mask, tf.float32)[..., None], axis=1)


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class PositionAttention(tf.keras.layers.Layer):
    """Position-wise attention weights ``o``, Eq. 9 (a softmax over the real positions).

    ``variant="paper"``: ``logit_i = tanh((h_i + p~_i) W3 + b3) . W4[:, i] + b4[i]`` (W4 is
    d x N with one column per position, see the module docstring). ``variant="official"``:
    ``logit_i = w4 . LeakyReLU_0.01(Dropout((h_i + p~_i) W3 + b3)) + b4``. ``P~`` is a second
    learned positional table (``max_len x d``, indexed from the most recent item).

    Input: ``h`` ``(B, n, d)``, ``mask`` ``(B, n)`` bool. Output: ``o`` ``(B, n)``, rows sum
    to 1 over real positions, 0 at padding.
    """

    def __init__(self, max_len, variant="paper", dropout=0.3, initializer_range=0.02,
                 **kwargs):
        super().__init__(**kwargs)
        _check("variant", variant, VARIANTS)
        self.max_len = int(max_len)
        self.variant = variant
        self.dropout_rate = float(dropout)
        self.initializer_range = float(initializer_range)
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.positions = self.add_weight(name="positions", shape=(self.max_len, d),
                                         initializer=_normal(self.initializer_range))
        self.w3 = self.add_weight(name="w3", shape=(d, d),
                                  initializer=_normal(self.initializer_range))
        self.b3 = self.add_weight(name="b3", shape=(d,), initializer="zeros")
        cols = self.max_len if self.variant == "paper" else 1
        self.w4 = self.add_weight(name="w4", shape=(d, cols),
                                  initializer=_normal(self.initializer_range))
        self.b4 = self.add_weight(name="b4", shape=(cols,), initializer="zeros")
        super().build(input_shape)

    def call(self, h, mask=None, training=None):
        mask = _mask_or_ones(mask, h)
        pos = _recency(tf.shape(h)[1])
        hidden = tf.tensordot(h + tf.gather(self.positions, pos)[None], self.w3, 1) + self.b3
        if self.variant == "paper":
            hidden = tf.tanh(hidden)
            w4 = tf.gather(self.w4, pos, axis=1)  # (d, n): position i's own column
            logits = tf.einsum("bnd,dn->bn", hidden, w4) + tf.gather(self.b4, pos)[None]
        else:
            hidden = tf.nn.leaky_relu(self.dropout(hidden, training=training), alpha=0.01)
            logits = tf.tensordot(hidden, self.w4, 1)[..., 0] + self.b4[0]
        logits = tf.where(mask, logits, NEG_INF)
        return tf.nn.softmax(logits, axis=-1) * tf.cast(mask, logits.dtype)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(max_len=self.max_len, variant=self.variant, dropout=self.dropout_rate,
                   initializer_range=self.initializer_range)
        return cfg


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class InterestRouting(tf.keras.layers.Layer):
    """Position-wise dynamic routing over the activated capsules, Eq. 10-14.

    ``q_i = LN(Dropout(tanh(h_i W5 + b5) + h_i))`` (Eq. 10; the dropout is the official
    code's); ``b`` starts at ``initial_logits`` (Eq. 7's ``s``, zeros if None); each of the
    ``iterations`` (tau, 3) rounds computes ``c_ij = softmax_j(b_ij + m_ij)`` (m = -1e9 for
    non-activated capsules; padded items get c = 0), ``z_j = sum_i c_ij o_i q_i``,
    ``u_j = squash(z_j)`` and, between rounds, ``b_ij += h_i . u_j`` (paper) or
    ``q_i . u_j`` (``variant="official"``).

    Input: ``h`` ``(B, n, d)``, ``weights`` ``o`` ``(B, n)``; optional ``mask`` ``(B, n)``
    bool, ``activated`` ``(B, C)`` bool, ``initial_logits`` ``(B, n, C)``.
    Output: capsules ``u`` ``(B, C, d)`` (zero for non-activated capsules); with
    ``return_coupling=True`` also the last ``c`` ``(B, n, C)``.
    """

    def __init__(self, num_capsules, iterations=3, variant="paper", dropout=0.3, epsilon=1e-12,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        _check("variant", variant, VARIANTS)
        self.num_capsules = int(num_capsules)
        self.iterations = int(iterations)
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        self.variant = variant
        self.dropout_rate = float(dropout)
        self.epsilon = float(epsilon)
        self.initializer_range = float(initializer_range)
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        self.norm = tf.keras.layers.LayerNormalization(epsilon=self.epsilon, name="norm")

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.w5 = self.add_weight(name="w5", shape=(d, d),
                                  initializer=_normal(self.initializer_range))
        self.b5 = self.add_weight(name="b5", shape=(d,), initializer="zeros")
        super().build(input_shape)

    def interest_features(self, h, training=None):
        """``q`` of Eq. 10, ``(B, n, d)``."""
        q = tf.tanh(tf.tensordot(h, self.w5, 1) + self.b5) + h
        return self.norm(self.dropout(q, training=training))

    def call(self, h, weights, mask=None, activated=None, initial_logits=None, training=None,
             return_coupling=False):
        mask = _mask_or_ones(mask, h)
        maskf = tf.cast(mask, h.dtype)[..., None]
        q = self.interest_features(h, training=training)
        shape = tf.stack([tf.shape(h)[0], tf.shape(h)[1], self.num_capsules])
        b = tf.zeros(shape, h.dtype) if initial_logits is None else initial_logits
        allowed = (tf.ones(shape, tf.bool) if activated is None
                   else tf.broadcast_to(tf.cast(activated, tf.bool)[:, None, :], shape))
        agree_with = q if self.variant == "official" else h
        oq = q * tf.cast(weights, h.dtype)[..., None]
        for it in range(self.iterations):
            c = tf.nn.softmax(tf.where(allowed, b, NEG_INF), axis=-1) * maskf
            u = squash(tf.einsum("bnc,bnd->bcd", c, oq))
            if it + 1 < self.iterations:
                b = b + tf.einsum("bnd,bcd->bnc", agree_with, u)
        return (u, c) if return_coupling else u

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_capsules=self.num_capsules, iterations=self.iterations,
                   variant=self.variant, dropout=self.dropout_rate, epsilon=self.epsilon,
                   initializer_range=self.initializer_range)
        return cfg


def fill_inactive(capsules, activated, counts):
    """Replaces every non-activated capsule by a copy of the user's most-activated one.

    MIRACLE scores an item by the max over the user's ACTIVATED interests (Eq. 17), whose
    number varies per user. Returning a fixed ``(B, C, d)`` tensor in which the non-activated
    slots repeat an activated interest keeps ``max_j u_j . x`` equal to the max over the
    activated interests, so mirec's retrieval index and losses (max over K) need no mask.

    Args:
      capsules: ``(B, C, d)`` routing outputs.
      activated: ``(B, C)`` bool.
      counts: ``(B, C)`` items per capsule (:func:`activation_counts`); the copied capsule is
        the one activated by most items (any activated one would do).
    """
    top = tf.argmax(counts, axis=1, output_type=tf.int32)
    best = tf.gather(capsules, top, batch_dims=1)  # (B, d)
    return tf.where(tf.cast(activated, tf.bool)[..., None], capsules, best[:, None, :])


def compact_interests(interests, activated):
    """``(B, K', d)`` with K' = the batch's largest number of activated capsules (>= 1).

    The activated interests of each user come first (in capsule order), the rest of its K'
    slots are taken from non-activated slots, which :func:`fill_inactive` made copies of an
    activated interest, so the max over K' equals the max over C. Saves ``C / K'`` of the
    ``(B, K, M)`` score tensor of full-softmax training.
    """
    act = tf.cast(activated, tf.int32)
    k = tf.maximum(tf.reduce_max(tf.reduce_sum(act, axis=1)), 1)
    order = tf.argsort(act, axis=1, direction="DESCENDING", stable=True)[:, :k]
    return tf.gather(interests, order, batch_dims=1)


__all__ = ["MiracleTransformerLayer", "ContextualEncoder", "SparseCapsuleActivation",
           "PositionAttention", "InterestRouting", "activation_counts", "fill_inactive",
           "compact_interests"]
