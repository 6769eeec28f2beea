"""Layers of MGNM, the Multi-Grained Neural Model (Tian et al., SIGIR 2022).

Yu Tian, Jianxin Chang, Yanan Niu, Yang Song and Chenliang Li, "When Multi-Level Meets
Multi-Interest: A Multi-Grained Neural Model for Sequential Recommendation", SIGIR 2022.
Official code: WHUIR/MGNM (TF 1.14; it does not run as released, see
``shared/REFERENCE-NOTES.md`` section 2c).

One layer per module of the paper's Section 3:

* :class:`UserAwareGraph` (Eq. 1): the user-specific fully connected item-item graph
  ``A_ij = sigmoid(sum_f x_if x_jf x_uf)`` over the m history positions, and its L1 norm
  (the theta1 penalty of Eq. 16).
* :class:`GraphConvolution` (Eq. 2-4): ``H^(l+1) = LeakyReLU(Â H^(l) W)`` with
  ``Â = I + D^-1/2 A D^-1/2`` and one ``W`` shared by the L layers; returns the L + 1 levels
  ``H^(0..L)``.
* :class:`SequentialCapsule` (Eq. 5-11): K capsules per level with dynamic routing and a
  BiLSTM residual on the capsule projections after the first iteration, then
  ``q_i = ReLU(o_i W'_i)``; its ``encoder`` option gives the Table 3 replacements of the
  sequential capsule network (SCN).
* :class:`TargetAttentionScore` (Eq. 12-15): per level, the candidate attends over the K
  interests, ``score_l = sum_j softmax_j(q_j . x_t) q_j . x_t``; final score = max over
  levels.

Notation: B batch, m history length (left-padded, 0 = padding, most recent last), d width,
K interests, L graph layers (L + 1 levels), N = B * (L + 1) sequences fed to the capsules.

Every switch defaults to the paper. What the official code does instead (each is a
constructor argument; :mod:`mirec.models.mgnm` sets them all with ``variant="official"``):
``user_aware=False`` (A_ij = sigmoid(x_i . x_j), the user table is unused);
``normalize=False, iterative=False, use_bias=True`` in the GCN (A used raw, every layer reads
the input x, so with the one shared W all levels >= 1 are equal); in the capsules,
``routing_softmax="capsules"`` (ComiRec convention), ``stop_gradient=True`` (gradients only
through the last iteration), ``position_weights=True`` (one d x d matrix per position and
capsule), ``official_bilstm=True`` (one BiLSTM over the K capsules concatenated, used for the
second iteration's routing update only; we run it on each user's own sequence with padding
masked, unlike the released code which mixes users, see the class docstring) and
``final_relu=False`` (no Eq. 11 layer).
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import tensorflow as tf

from mirec.layers.attention import masked_softmax
from mirec.layers.capsule import squash

ENCODERS = ("capsule", "bilstm", "sumpool", "selfatt", "transformer")
ROUTING_SOFTMAX = ("items", "capsules")


def _mask_or_ones(x, mask):
    """(B, m) bool mask; all True when ``mask`` is None."""
    if mask is None:
        return tf.ones(tf.shape(x)[:2], tf.bool)
    return tf.cast(mask, tf.bool)


# ----------------------------------------------------------------------------- Eq. 1


@tf.keras.utils.register_keras_serializable(package="mirec")
class UserAwareGraph(tf.keras.layers.Layer):
    """MGNM Eq. 1: a user-aware fully connected graph over the history positions.

    ``A_ij = sigmoid((x_i ⊙ x_j) . x_u)``: symmetric, a different graph for each user;
    repeated items stay separate nodes (the paper keeps repeats). Rows and columns of
    padded positions are 0. Also returns ``||A||_1`` per user (``sum_ij |A_ij|``, the
    entries are positive), the L1 term of Eq. 16 (the official code takes
    ``tf.norm(A, ord=1)`` of the whole batch, i.e. the sum of these).

    ``user_aware=False`` is the official code's active branch: ``A_ij = sigmoid(x_i . x_j)``
    (the user embedding is ignored and may be None).

    Input: ``x`` ``(batch_size, seq_len, dim)``, ``user`` ``(batch_size, dim)``,
    ``mask`` ``(batch_size, seq_len)`` bool.
    Output: ``(A, l1)``: ``(batch_size, seq_len, seq_len)`` and ``(batch_size,)``.

    Example:
      >>> g = UserAwareGraph()
      >>> a, l1 = g(tf.ones((2, 3, 4)), tf.ones((2, 4)), mask=tf.ones((2, 3), bool))
      >>> a.shape, l1.shape
      (TensorShape([2, 3, 3]), TensorShape([2]))
    """

    def __init__(self, user_aware=True, **kwargs):
        super().__init__(**kwargs)
        self.user_aware = bool(user_aware)

    def call(self, x, user=None, mask=None):
        mask = _mask_or_ones(x, mask)
        if self.user_aware:
            if user is None:
                raise ValueError("UserAwareGraph(user_aware=True) needs the user embedding")
            left = x * tf.cast(user, x.dtype)[:, None, :]  # x_i ⊙ x_u
        else:
            left = x
        a = tf.sigmoid(tf.matmul(left, x, transpose_b=True))  # (B, m, m)
        maskf = tf.cast(mask, a.dtype)
        a = a * maskf[:, :, None] * maskf[:, None, :]
        return a, tf.reduce_sum(tf.abs(a), axis=[1, 2])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(user_aware=self.user_aware)
        return cfg


# ----------------------------------------------------------------------------- Eq. 2-4


def normalized_adjacency(a, mask=None, self_loop=True):
    """``Â = I + D^-1/2 A D^-1/2`` (MGNM Eq. 3 as intended: the printed left side is a typo).

    ``D`` is the degree (row sum) of ``A``; rows of degree 0 (padding) get ``D^-1/2 = 0`` and
    padded positions get no self loop, so padding rows of ``Â`` are 0.

    Args:
      a: ``(batch_size, m, m)`` symmetric non-negative adjacency.
      mask: optional ``(batch_size, m)`` bool, True on real positions.
      self_loop: add ``I`` (on real positions).

    Returns:
      ``(batch_size, m, m)``.
    """
    deg = tf.reduce_sum(a, axis=-1)
    inv_sqrt = tf.where(deg > 0, tf.math.rsqrt(tf.maximum(deg, 1e-30)), tf.zeros_like(deg))
    out = inv_sqrt[:, :, None] * a * inv_sqrt[:, None, :]
    if self_loop:
        diag = tf.ones_like(deg) if mask is None else tf.cast(mask, a.dtype)
        out = out + tf.linalg.diag(diag)
    return out


@tf.keras.utils.register_keras_serializable(package="mirec")
class GraphConvolution(tf.keras.layers.Layer):
    """MGNM Eq. 2-4: L graph convolutions with one shared ``W``, returning L + 1 levels.

    Paper (defaults): ``H^(0) = X``, ``H^(l+1) = LeakyReLU(Â H^(l) W)`` with
    ``Â = I + D^-1/2 A D^-1/2`` (:func:`normalized_adjacency`), W ``(d, d)`` shared by all
    layers, no bias. The LeakyReLU slope is not given; 0.2 is ``tf.nn.leaky_relu``'s default,
    which the official code uses.

    Official code (``normalize=False, iterative=False, use_bias=True``): ``Â = A`` (masked,
    no self loop, no normalisation) and every layer reads the INPUT,
    ``H^(l+1) = LeakyReLU(A X W + b)``; with the single shared ``W_gc0`` of the last commit
    that runs, levels 1..L are therefore identical.

    Padded positions are 0 in every level.

    Input: ``x`` ``(batch_size, seq_len, dim)``, ``adjacency`` ``(batch_size, seq_len,
    seq_len)``, ``mask`` ``(batch_size, seq_len)``.
    Output: ``(batch_size, num_layers + 1, seq_len, dim)``, level 0 = ``x``.

    Example:
      >>> gcn = GraphConvolution(num_layers=2)
      >>> gcn(tf.ones((2, 3, 4)), tf.ones((2, 3, 3))).shape
      TensorShape([2, 3, 3, 4])
    """

    def __init__(self, num_layers=3, normalize=True, iterative=True, use_bias=False,
                 negative_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = int(num_layers)
        self.normalize = bool(normalize)
        self.iterative = bool(iterative)
        self.use_bias = bool(use_bias)
        self.negative_slope = float(negative_slope)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim),
                                      initializer="glorot_uniform")
        self.bias = (self.add_weight(name="bias", shape=(dim,), initializer="zeros")
                     if self.use_bias else None)
        super().build(input_shape)

    def call(self, x, adjacency, mask=None):
        mask = _mask_or_ones(x, mask)
        maskf = tf.cast(mask, x.dtype)[..., None]
        x = x * maskf
        a = tf.cast(adjacency, x.dtype)
        a_hat = normalized_adjacency(a, mask) if self.normalize else a
        levels = [x]
        h = x
        for _ in range(self.num_layers):
            src = h if self.iterative else x
            z = tf.einsum("bij,bjd,de->bie", a_hat, src, self.kernel)
            if self.bias is not None:
                z = z + self.bias
            h = tf.nn.leaky_relu(z, alpha=self.negative_slope) * maskf
            levels.append(h)
        return tf.stack(levels, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_layers=self.num_layers, normalize=self.normalize,
                   iterative=self.iterative, use_bias=self.use_bias,
                   negative_slope=self.negative_slope)
        return cfg


# ----------------------------------------------------------------------------- Eq. 5-11


def sinusoidal_positions(length, dim):
    """``(length, dim)`` sinusoidal encodings (Vaswani et al. 2017), position 0 first.

    ``PE[p, i] = sin(p / 10000^(i / dim))`` for even i, ``cos(p / 10000^((i - 1) / dim))``
    for odd i; ``length`` may be a tensor.
    """
    pos = tf.cast(tf.range(length), tf.float32)[:, None]
    i = tf.range(dim)[None, :]
    angle = pos / tf.pow(10000.0, tf.cast(i - i % 2, tf.float32) / float(dim))
    return tf.where(i % 2 == 0, tf.sin(angle), tf.cos(angle))


def _build(layer, input_shape):
    """Builds a sub-layer now, under its own name scope (readable variable names)."""
    with tf.name_scope(layer.name):
        layer.build(input_shape)


def _bilstm(units, return_sequences):
    """A masked bidirectional LSTM, outputs of the two directions concatenated.

    ``RNN(LSTMCell)`` computes exactly what ``LSTM`` does (same cell and initialisers) but
    skips Keras' cuDNN/generic dual implementation, which cuDNN could not use anyway with
    left padding; on CPU it traces about 5x and runs about 3x faster.
    """
    return tf.keras.layers.Bidirectional(
        tf.keras.layers.RNN(tf.keras.layers.LSTMCell(units), return_sequences=return_sequences),
        name="bilstm")


@tf.keras.utils.register_keras_serializable(package="mirec")
class SequentialCapsule(tf.keras.layers.Layer):
    """MGNM's sequential capsule network (SCN, Eq. 5-11) and its Table 3 replacements.

    Input: ``h`` ``(batch_size, seq_len, dim)`` item representations of one level (the model
    folds the L + 1 levels into the batch: one network is shared by all levels, as in the
    official code; the paper's ``W_i``/``W'_i`` carry no level index), ``mask``
    ``(batch_size, seq_len)`` bool.
    Output: ``(batch_size, interests_per_level(seq_len), dim)``.

    ``encoder="capsule"`` (the SCN), per capsule i = 1..K:

    1. ``Z_i = H W_i`` (Eq. 5), ``W_i`` ``(d, d)`` (``position_weights=True``: one matrix per
       position and capsule, the official ``bilinear_type=2``).
    2. Routing logits ``g`` ``(K, m)`` drawn from a truncated normal (stddev ``init_stddev``)
       -- a fresh draw in training, a fixed seeded draw at inference (``inference_seed``; the
       official code draws fresh ones at test time too, which makes evaluation noisy;
       ``inference_seed=None`` restores that).
    3. ``tau = iterations`` times: ``c = softmax(g)`` (Eq. 6) over the items of each capsule
       (``routing_softmax="items"``, the paper's ``c = softmax([g_1..g_m])``) or over the
       capsules of each item (``"capsules"``, official/ComiRec); padded items get 0.
       ``v_i = sum_j c_ij z_ij`` (Eq. 8), ``o_i = squash(v_i)`` (Eq. 7),
       ``g_ij += o_i . z_ij`` (Eq. 9; skipped after the last iteration, where it is unused).
    4. After the FIRST iteration only, ``Z_i <- Z_i + BiLSTM(Z_i)`` (Eq. 10), kept for the
       remaining ``tau - 1`` iterations. Interpretation: one BiLSTM shared by the K capsules
       (each capsule's sequence is a separate row), ``lstm_units`` (default d) per direction,
       forward and backward outputs concatenated and mapped back to d by a bias-free dense
       (as the official code does), padded steps masked and their outputs zeroed.
       ``use_bilstm=False`` (Table 3 "w/o BiLSTM") skips it.
    5. ``q_i = ReLU(o_i W'_i)`` (Eq. 11), ``W'_i`` ``(d, d)`` without bias
       (``final_relu=False``: ``q_i = o_i``, the official default).

    Gradients: the paper says nothing; by default they flow through every iteration.
    ``stop_gradient=True`` (official) routes on ``stop_gradient`` copies of Z and lets
    gradients reach Z only through the last iteration (the logits never carry gradient).

    ``official_bilstm=True`` (official wiring of Eq. 10): the K capsule projections are
    concatenated into one ``(m, K d)`` sequence, a BiLSTM with d units each way reads it
    (from stop-gradient inputs), a bias-free dense maps ``2d -> K d``, and the residual sum
    is used only for the SECOND iteration's routing; the last iteration reads the original
    Z. Unlike the released code (which concatenates static-RNN outputs along the batch axis
    and reshapes, mixing users' time steps) each user's sequence stays its own, and padding
    is masked.

    Table 3 replacements (``encoder``), our reading of the paper's one-line descriptions:

    * ``"transformer"`` -- SCN (Transformer): the SCN with Eq. 10's BiLSTM replaced by one
      post-LN Transformer encoder block (sinusoidal positions counted from the most recent
      item, ``num_heads`` heads of width d / num_heads with padding keys masked, residual +
      LayerNorm, ReLU FFN of width 4d, residual + LayerNorm; the layout of the official
      ``util_se.Transformer``). The block's own residual connection plays Eq. 10's:
      ``Z_i <- Block(Z_i)``. Output ``(batch_size, K, dim)``.
    * ``"bilstm"`` -- SCN->BiLSTM: a BiLSTM over the level's sequence; "the last hidden
      state" = [forward state after the most recent item, backward state after the oldest
      real item] (padding masked), mapped to d by a bias-free dense. One interest per level:
      ``(batch_size, 1, dim)``.
    * ``"sumpool"`` -- SCN->SumPool: ``sum_j h_j`` over the real positions, no parameters.
      ``(batch_size, 1, dim)``.
    * ``"selfatt"`` -- SCN->SelfAtt: "the candidate item derives the user interest of each
      level by attention": DIN-style target attention over the level's items,
      ``p = sum_j softmax_j(h_j . x_t) h_j``. The layer returns the item representations
      themselves, ``(batch_size, seq_len, dim)`` (padded rows 0), as the level's "interests":
      the prediction's target attention over interests (Eq. 12-13) then IS this attention
      (the model masks the padded rows).

    Example:
      >>> scn = SequentialCapsule(num_interests=2)
      >>> scn(tf.ones((3, 5, 4)), mask=tf.ones((3, 5), bool)).shape
      TensorShape([3, 2, 4])
    """

    def __init__(self, num_interests=4, iterations=3, encoder="capsule", use_bilstm=True,
                 routing_softmax="items", stop_gradient=False, final_relu=True,
                 official_bilstm=False, position_weights=False, init_stddev=1.0,
                 inference_seed=0, lstm_units=None, num_heads=2, **kwargs):
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        if routing_softmax not in ROUTING_SOFTMAX:
            raise ValueError(f"routing_softmax must be one of {ROUTING_SOFTMAX}, got "
                             f"{routing_softmax!r}")
        self.num_interests = int(num_interests)
        self.iterations = int(iterations)
        if self.iterations < 1:
            raise ValueError("iterations must be >= 1")
        self.encoder = encoder
        self.use_bilstm = bool(use_bilstm)
        self.routing_softmax = routing_softmax
        self.stop_gradient = bool(stop_gradient)
        self.final_relu = bool(final_relu)
        self.official_bilstm = bool(official_bilstm)
        self.position_weights = bool(position_weights)
        self.init_stddev = float(init_stddev)
        self.inference_seed = None if inference_seed is None else int(inference_seed)
        self.lstm_units = None if lstm_units is None else int(lstm_units)
        self.num_heads = int(num_heads)

    # -- structure

    @property
    def uses_routing(self):
        return self.encoder in ("capsule", "transformer")

    @property
    def uses_sequence_residual(self):
        """Whether Eq. 10's residual (BiLSTM or Transformer block) is applied."""
        return (self.encoder == "transformer"
                or (self.encoder == "capsule" and self.use_bilstm))

    def interests_per_level(self, seq_len=None):
        """K for the capsule encoders, 1 for bilstm/sumpool, seq_len for selfatt."""
        if self.uses_routing:
            return self.num_interests
        if self.encoder == "selfatt":
            return seq_len
        return 1

    def build(self, input_shape):
        seq_len, dim = input_shape[-2], int(input_shape[-1])
        self._dim = dim
        units = self.lstm_units or dim
        if self.uses_routing:
            k = self.num_interests
            if self.position_weights:
                if seq_len is None:
                    raise ValueError("position_weights=True needs a static seq_len")
                shape = (int(seq_len), k, dim, dim)
            else:
                shape = (k, dim, dim)
            self.capsule_kernel = self.add_weight(name="capsule_kernel", shape=shape,
                                                  initializer="glorot_normal")
            if self.final_relu:
                self.interest_kernel = self.add_weight(name="interest_kernel",
                                                       shape=(k, dim, dim),
                                                       initializer="glorot_normal")
        if self.uses_sequence_residual and self.encoder == "capsule":
            joint = self.official_bilstm
            in_dim = dim * self.num_interests if joint else dim
            out_dim = in_dim
            self.bilstm = _bilstm(units, return_sequences=True)
            _build(self.bilstm, (None, seq_len, in_dim))
            self.bilstm_projection = tf.keras.layers.Dense(out_dim, use_bias=False,
                                                           name="bilstm_projection")
            _build(self.bilstm_projection, (None, seq_len, 2 * units))
        if self.encoder == "transformer":
            heads = self.num_heads if dim % self.num_heads == 0 else 1
            self.attention = tf.keras.layers.MultiHeadAttention(
                num_heads=heads, key_dim=dim // heads, name="attention")
            with tf.name_scope(self.attention.name):
                self.attention._build_from_signature((None, seq_len, dim),
                                                     (None, seq_len, dim))
            self.attention_norm = tf.keras.layers.LayerNormalization(name="attention_norm")
            _build(self.attention_norm, (None, seq_len, dim))
            self.ffn_hidden = tf.keras.layers.Dense(4 * dim, activation="relu",
                                                    name="ffn_hidden")
            _build(self.ffn_hidden, (None, seq_len, dim))
            self.ffn_output = tf.keras.layers.Dense(dim, name="ffn_output")
            _build(self.ffn_output, (None, seq_len, 4 * dim))
            self.ffn_norm = tf.keras.layers.LayerNormalization(name="ffn_norm")
            _build(self.ffn_norm, (None, seq_len, dim))
        if self.encoder == "bilstm":
            self.bilstm = _bilstm(units, return_sequences=False)
            _build(self.bilstm, (None, seq_len, dim))
            self.bilstm_projection = tf.keras.layers.Dense(dim, use_bias=False,
                                                           name="bilstm_projection")
            _build(self.bilstm_projection, (None, 2 * units))
        super().build(input_shape)

    # -- pieces

    def project(self, h):
        """Eq. 5: ``Z`` ``(batch, K, m, d)`` from ``h`` ``(batch, m, d)``."""
        if self.position_weights:
            return tf.einsum("bmd,mkde->bkme", h, self.capsule_kernel)
        return tf.einsum("bmd,kde->bkme", h, self.capsule_kernel)

    def coupling(self, logits, mask):
        """Eq. 6: coupling coefficients ``(batch, K, m)``, 0 on padded items."""
        m = mask[:, None, :]
        if self.routing_softmax == "items":
            return masked_softmax(logits, tf.broadcast_to(m, tf.shape(logits)), axis=-1)
        return tf.nn.softmax(logits, axis=1) * tf.cast(m, logits.dtype)

    def sequence_residual(self, z, mask, training=None):
        """Eq. 10 per capsule: ``Z_i + BiLSTM(Z_i)`` (or the Transformer block), masked.

        ``z`` ``(batch, K, m, d)``; returns the same shape.
        """
        k = self.num_interests
        shape = tf.shape(z)
        rows = tf.reshape(z, [-1, shape[2], shape[3]])  # (B*K, m, d), row b*K + i
        row_mask = tf.repeat(mask, k, axis=0)
        if self.encoder == "transformer":
            out = self._transformer_block(rows, row_mask, training)
        else:
            seq = self.bilstm(rows, mask=row_mask, training=training)
            out = rows + self.bilstm_projection(seq)
        out = out * tf.cast(row_mask, out.dtype)[..., None]
        return tf.reshape(out, shape)

    def joint_bilstm(self, z, mask, training=None):
        """Official Eq. 10: one BiLSTM over the K capsules concatenated, ``(batch, K, m, d)``."""
        shape = tf.shape(z)
        k, d = self.num_interests, self._dim
        seq = tf.reshape(tf.transpose(z, [0, 2, 1, 3]), [shape[0], shape[2], k * d])
        out = self.bilstm_projection(self.bilstm(seq, mask=mask, training=training))
        out = tf.transpose(tf.reshape(out, [shape[0], shape[2], k, d]), [0, 2, 1, 3])
        return (z + out) * tf.cast(mask, z.dtype)[:, None, :, None]

    def _transformer_block(self, x, mask, training):
        m = tf.shape(x)[1]
        d = self._dim
        # Positions counted from the most recent item (left padding: index m-1 is position 0).
        pos = tf.reverse(sinusoidal_positions(m, d), axis=[0])
        x = (x + pos[None]) * tf.cast(mask, x.dtype)[..., None]
        att_mask = mask[:, None, :]  # keys only; padded queries are zeroed afterwards
        att = self.attention(x, x, attention_mask=att_mask, training=training)
        y = self.attention_norm(x + att)
        return self.ffn_norm(y + self.ffn_output(self.ffn_hidden(y)))

    def initial_logits(self, batch, seq_len, dtype, training):
        shape = tf.stack([batch, self.num_interests, seq_len])
        if self.init_stddev <= 0:
            return tf.zeros(shape, dtype)
        if training or self.inference_seed is None:
            return tf.random.truncated_normal(shape, stddev=self.init_stddev, dtype=dtype)
        return tf.random.stateless_truncated_normal(shape, seed=[self.inference_seed, 0],
                                                    stddev=self.init_stddev, dtype=dtype)

    # -- forward

    def call(self, h, mask=None, training=None, initial_logits=None):
        mask = _mask_or_ones(h, mask)
        maskf = tf.cast(mask, h.dtype)
        h = h * maskf[..., None]
        if self.encoder == "sumpool":
            return tf.reduce_sum(h, axis=1, keepdims=True)
        if self.encoder == "selfatt":
            return h
        if self.encoder == "bilstm":
            return self.bilstm_projection(self.bilstm(h, mask=mask, training=training))[:, None]
        return self.route(h, mask, training, initial_logits)

    def route(self, h, mask, training=None, initial_logits=None):
        """Eq. 5-11 for ``h`` ``(batch, m, d)``; returns the K interests ``(batch, K, d)``."""
        maskf = tf.cast(mask, h.dtype)
        z = self.project(h) * maskf[:, None, :, None]  # (B, K, m, d)
        if initial_logits is None:
            g = self.initial_logits(tf.shape(h)[0], tf.shape(h)[1], h.dtype, training)
        else:
            g = tf.cast(initial_logits, h.dtype)
        g = tf.stop_gradient(g)
        sg = self.stop_gradient
        route_z = tf.stop_gradient(z) if sg else z
        o = None
        for it in range(self.iterations):
            last = it == self.iterations - 1
            z_it = z if (last and sg) else route_z
            c = self.coupling(g, mask)
            o = squash(tf.einsum("bkm,bkmd->bkd", c, z_it))
            if last:
                break
            g = g + tf.einsum("bkmd,bkd->bkm", z_it, o)
            if not self.uses_sequence_residual:
                continue
            if self.official_bilstm and self.encoder == "capsule":
                if it == 0:  # only the second iteration's routing sees the BiLSTM
                    route_z = self.joint_bilstm(tf.stop_gradient(z), mask, training)
                else:
                    route_z = tf.stop_gradient(z) if sg else z
            elif it == 0:
                z = self.sequence_residual(z, mask, training)
                route_z = tf.stop_gradient(z) if sg else z
        if self.final_relu:
            return tf.nn.relu(tf.einsum("bkd,kde->bke", o, self.interest_kernel))
        return o

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_interests=self.num_interests, iterations=self.iterations,
                   encoder=self.encoder, use_bilstm=self.use_bilstm,
                   routing_softmax=self.routing_softmax, stop_gradient=self.stop_gradient,
                   final_relu=self.final_relu, official_bilstm=self.official_bilstm,
                   position_weights=self.position_weights, init_stddev=self.init_stddev,
                   inference_seed=self.inference_seed, lstm_units=self.lstm_units,
                   num_heads=self.num_heads)
        return cfg


# ----------------------------------------------------------------------------- Eq. 12-15


def level_scores(interests, candidates, interest_mask=None):
    """Eq. 12-14 for every level and candidate.

    ``score_l(x_t) = p_l . x_t`` with ``p_l = sum_j a_j q_j``, ``a_j = softmax_j(q_j . x_t)``,
    computed as ``sum_j softmax_j(s_j) s_j`` with ``s_j = q_j . x_t``.

    Args:
      interests: ``(batch, levels, K, d)``.
      candidates: ``(batch, C, d)``.
      interest_mask: optional ``(batch, levels, K)`` bool (False = not an interest, e.g. a
        padded item under ``encoder="selfatt"``).

    Returns:
      ``(batch, levels, C)``.
    """
    s = tf.einsum("bgkd,bcd->bgkc", interests, tf.cast(candidates, interests.dtype))
    if interest_mask is None:
        a = tf.nn.softmax(s, axis=2)
    else:
        m = tf.broadcast_to(tf.cast(interest_mask, tf.bool)[..., None], tf.shape(s))
        a = masked_softmax(s, m, axis=2)
        s = tf.where(m, s, tf.zeros_like(s))
    return tf.reduce_sum(a * s, axis=2)


@tf.keras.utils.register_keras_serializable(package="mirec")
class TargetAttentionScore(tf.keras.layers.Layer):
    """MGNM Eq. 12-15: target-attended interest score per level, max-pooled over levels.

    Per level l: ``a_j = softmax_j(q_j^(l) . x_t)`` over the K interests (Eq. 13),
    ``p^(l) = sum_j a_j q_j^(l)`` (Eq. 12), ``y^(l) = p^(l) . x_t`` (Eq. 14); final
    ``y = max_l y^(l)`` (Eq. 15).

    ``max_pool=False`` (Table 3 "w/o MaxPool"): the mean of the level scores. The paper's
    Figure 7 replaces max- by sum-pooling "in the inference stage"; mean and sum rank
    identically, and training is unaffected either way (Eq. 16 has one loss per level).

    Input: ``interests`` ``(batch_size, levels, K, dim)``, ``candidates``
    ``(batch_size, num_candidates, dim)``, optional ``interest_mask``
    ``(batch_size, levels, K)``.
    Output: ``(scores, level_scores)``: ``(batch_size, num_candidates)`` and
    ``(batch_size, levels, num_candidates)``.

    Example:
      >>> score = TargetAttentionScore()
      >>> y, per_level = score(tf.ones((2, 4, 3, 8)), tf.ones((2, 5, 8)))
      >>> y.shape, per_level.shape
      (TensorShape([2, 5]), TensorShape([2, 4, 5]))
    """

    def __init__(self, max_pool=True, **kwargs):
        super().__init__(**kwargs)
        self.max_pool = bool(max_pool)

    def call(self, interests, candidates, interest_mask=None):
        per_level = level_scores(interests, candidates, interest_mask)
        pooled = (tf.reduce_max(per_level, axis=1) if self.max_pool
                  else tf.reduce_mean(per_level, axis=1))
        return pooled, per_level

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(max_pool=self.max_pool)
        return cfg


__all__ = ["UserAwareGraph", "GraphConvolution", "SequentialCapsule", "TargetAttentionScore",
           "normalized_adjacency", "level_scores", "sinusoidal_positions", "ENCODERS"]
