"""SLi-Rec: adaptive long- and short-term user modelling (Yu et al., IJCAI 2019).

Zeping Yu, Jianxun Lian, Ahmad Mahmoody, Gongshen Liu and Xing Xie, "Adaptive User Modeling
with Long and Short-Term Preferences for Personalized Recommendation", IJCAI 2019. Baseline of
MGNM's Table 2. Implementation followed: microsoft/recommenders ``SLI_RECModel`` and
``Time4LSTMCell`` as shipped in the SURGE release (tsinghua-fib-lab/SIGIR21-SURGE).

Structure, for a history ``x_1..x_n`` (item embeddings, most recent last) and a target ``e``::

    long term   u_l = A2SVD attention pooling of x            (mirec.models.a2svd.AsvdAttention)
    short term  h_1..h_n = Time4LSTM(x_t, dt_now_t, dt_last_t)     hidden size = D
                w = softmax_t(MLP_att([h_t W, e, h_t W - e, h_t W * e]))    DIN-style, target-aware
                u_s = sum_t w_t h_t
    fusion      alpha = sigmoid(MLP_alpha([e, u_l, u_s, dt_now_last]))       target-aware
                u = alpha u_l + (1 - alpha) u_s
    logit(e)    MLP([u, e])                                               ReLU (100, 64) + linear

Time4LSTM (the cell, :class:`Time4LSTMCell`), with ``tn = tanh(dt_now w1 + b1)`` and
``tl = tanh(dt_last w2 + b2)`` (vectors of the hidden size)::

    T_now  = sigmoid(x W_t1 + tn U_t1 + b_t1)          time gate on the new content
    T_last = sigmoid(x W_t2 + tl U_t2 + b_t2)          time gate on the carried cell
    i, j, f, o = [x, h_prev] K + b;   o += tn V1 + tl V2
    c = sigmoid(f + 1) * T_last * c_prev + sigmoid(i) * T_now * tanh(j)
    h = sigmoid(o) * tanh(c)

Time features without timestamps. Our offline data (S3-Rec Toys, MQL4GRec Instruments) has no
clock, so the time gates are fed **position gaps** in place of time gaps: for the k-th of L
real history items (k = 0 the oldest) ``dt_now = L - k`` (steps until the target) and
``dt_from_first = k + 1`` (steps from the first action to the next one, the code's
``time_from_first_action``), ``dt_interval = 1``; every feature goes through the framework's
``log(max(dt, 0.5))``. The gates thus become learned recency gates. When a data pipeline
provides real gaps they are used instead: ``features["time_to_now"]``,
``features["time_from_first"]`` and ``features["time_interval"]``, each ``(batch, n)``
aligned with ``history``, in the data's time unit (the framework uses days).

The paper's equation numbers were not checked (its PDF is not in this repository); the
structure follows the official code named above.

Choices and what they rest on:

* ``time_last_feature="from_first"`` (default, the framework's code) feeds time-from-first-
  action to the ``T_last`` gate; ``"interval"`` feeds the gap to the previous action, which is
  what the paper describes. With position gaps the interval is constant (log 1 = 0), so that
  gate only learns from ``x``.
* ``dt_now_last`` of the fusion is the time-to-now of the *last history column*. The framework
  right-pads histories, so there it is the last item's value only for full-length histories
  and 0 otherwise; histories here are left-padded and it is always the most recent item's.
* Hidden size = D, required because ``u_l`` (D) and ``u_s`` (hidden) are mixed; the framework
  has hidden 40 = its 32 + 8 item/category width for the same reason.
* Attention / fusion MLPs ``(80, 40)`` ReLU and prediction MLP ``(100, 64)`` ReLU: the
  framework's yaml. No batch normalisation (framework ``enable_BN``), no category embedding, no
  L2 penalties, dropout 0 (framework default). Weights use Keras default initialisers
  (framework: truncated normal 0.01).
* The framework trains with a group softmax over 1 positive + 4 negatives; MGNM's protocol is
  pointwise BCE with 5 uniform negatives, which :class:`PairwiseModel` applies.

Public API: :class:`Time4LSTMCell`, :class:`SLiRecTower`, :func:`time_features`,
:func:`build_model`, :func:`default_model_config`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.models.a2svd import AsvdAttention
from mirec.models.losses import LossConfig
from mirec.models.pairwise import (
    AttentionMLP,
    MLPScorer,
    PairwiseModel,
    RowLayout,
    TargetAwareTower,
    masked_scan,
    mean_real_length,
    sequence_positions,
    trim_left_padding,
)
from mirec.towers.item import ItemTower

TIME_LAST_FEATURES = ("from_first", "interval")


@tf.keras.utils.register_keras_serializable(package="mirec")
class Time4LSTMCell(tf.keras.layers.Layer):
    """One step of SLi-Rec's Time4LSTM (see the module docstring for the equations).

    ``call(x (batch, input_dim), dt_now (batch, 1), dt_last (batch, 1), (c, h))`` returns the
    new ``(c, h)``, each ``(batch, units)``; ``dt_*`` are the already log-scaled time features.

    Example:
      >>> cell = Time4LSTMCell(3)
      >>> c, h = cell(tf.ones((2, 4)), tf.zeros((2, 1)), tf.zeros((2, 1)),
      ...             (tf.zeros((2, 3)), tf.zeros((2, 3))))
      >>> h.shape
      TensorShape([2, 3])
    """

    def __init__(self, units, forget_bias=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.forget_bias = float(forget_bias)

    def build(self, input_shape):
        d, u = int(input_shape[-1]), self.units

        def w(name, shape, init="glorot_uniform"):
            return self.add_weight(name=name, shape=shape, initializer=init)

        self.time_now_w, self.time_now_b = w("time_now_w", (u,)), w("time_now_b", (u,), "zeros")
        self.time_last_w, self.time_last_b = (w("time_last_w", (u,)),
                                              w("time_last_b", (u,), "zeros"))
        self.gate_now_x, self.gate_now_t = w("gate_now_x", (d, u)), w("gate_now_t", (u, u))
        self.gate_now_b = w("gate_now_b", (u,), "zeros")
        self.gate_last_x, self.gate_last_t = w("gate_last_x", (d, u)), w("gate_last_t", (u, u))
        self.gate_last_b = w("gate_last_b", (u,), "zeros")
        self.out_now, self.out_last = w("out_now", (u, u)), w("out_last", (u, u))
        self.kernel = w("kernel", (d + u, 4 * u))
        self.bias = w("bias", (4 * u,), "zeros")
        super().build(input_shape)

    def call(self, x, dt_now, dt_last, state):
        c_prev, h_prev = state
        tn = tf.tanh(dt_now * self.time_now_w + self.time_now_b)
        tl = tf.tanh(dt_last * self.time_last_w + self.time_last_b)
        gate_now = tf.sigmoid(x @ self.gate_now_x + tn @ self.gate_now_t + self.gate_now_b)
        gate_last = tf.sigmoid(x @ self.gate_last_x + tl @ self.gate_last_t + self.gate_last_b)
        i, j, f, o = tf.split(tf.concat([x, h_prev], -1) @ self.kernel + self.bias, 4, axis=-1)
        o = o + tn @ self.out_now + tl @ self.out_last
        c = (tf.sigmoid(f + self.forget_bias) * gate_last * c_prev
             + tf.sigmoid(i) * gate_now * tf.tanh(j))
        h = tf.sigmoid(o) * tf.tanh(c)
        return c, h

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, forget_bias=self.forget_bias)
        return cfg


def time_features(mask, features=None, time_last_feature="from_first"):
    """Log-scaled ``(dt_now, dt_last)``, each ``(batch, n)``, for a left-padded ``mask``.

    Real gaps come from ``features["time_to_now"]`` / ``["time_from_first"]`` /
    ``["time_interval"]`` when present, else from positions (module docstring); both go through
    ``log(max(dt, 0.5))``. Padded slots get 0.
    """
    if time_last_feature not in TIME_LAST_FEATURES:
        raise ValueError(f"time_last_feature must be one of {TIME_LAST_FEATURES}, "
                         f"got {time_last_feature!r}")
    features = features or {}
    k, length = sequence_positions(mask)
    m = tf.cast(mask, tf.float32)

    def get(name, default):
        v = features.get(name)
        return default if v is None else tf.cast(v, tf.float32)

    now = get("time_to_now", length - k)
    if time_last_feature == "from_first":
        last = get("time_from_first", k + 1.0)
    else:
        last = get("time_interval", tf.ones_like(m))

    def scale(t):
        return tf.math.log(tf.maximum(t, 0.5)) * m

    return scale(now), scale(last)


class SLiRecTower(TargetAwareTower):
    """History -> packed state ``(batch, max_len + 2, dim + 1)``; ``score`` as in SLi-Rec.

    State layout (:class:`RowLayout`): ``steps`` (max_len rows: Time4LSTM output h_t and the
    mask bit), ``long`` (u_l), ``now`` (dt_now of the last column).

    Example:
      >>> tower = SLiRecTower(ItemTower(10, 8), max_len=4, attention_units=(6,), mlp_units=(6,))
      >>> q = tower({"history": tf.constant([[0, 1, 2, 3]])})
      >>> q.shape, tower.score(q, tf.ones((1, 7, 8))).shape
      (TensorShape([1, 6, 9]), TensorShape([1, 7]))
    """

    def __init__(self, item_tower, max_len, attention_units=(80, 40), mlp_units=(100, 64),
                 activation="relu", time_last_feature="from_first", long_mask_padding=True,
                 dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if time_last_feature not in TIME_LAST_FEATURES:
            raise ValueError(f"time_last_feature must be one of {TIME_LAST_FEATURES}, "
                             f"got {time_last_feature!r}")
        self.time_last_feature = time_last_feature
        self.long_term = AsvdAttention(None, long_mask_padding, name="long_term")
        self.cell = Time4LSTMCell(self.dim, name="time4lstm")
        self.short_attention = AttentionMLP(self.dim, attention_units, activation,
                                            name="short_attention")
        self.fusion = MLPScorer(attention_units, activation, name="fusion")
        self.scorer = MLPScorer(mlp_units, activation, dropout, name="scorer")
        self.layout = RowLayout([("steps", self.max_len, self.dim + 1), ("long", 1, self.dim),
                                 ("now", 1, 1)])

    def encode(self, emb, mask, features, training):
        n = emb.shape[1]
        long = self.long_term(emb, mask)
        dt_now, dt_last = time_features(mask, features, self.time_last_feature)
        t = trim_left_padding(mask)
        b = tf.shape(emb)[0]
        if not self.cell.built:  # variables cannot be created inside the scan
            self.cell.build(tf.TensorShape([None, self.dim]))
        init = (tf.zeros([b, self.dim]), tf.zeros([b, self.dim]))

        def step(x, state):
            e, tn, tl = x
            return self.cell(e, tn[:, None], tl[:, None], state)

        (_, hs), _ = masked_scan(step, (emb[:, -t:], dt_now[:, -t:], dt_last[:, -t:]),
                                 mask[:, -t:], init)
        hs = tf.pad(hs, [[0, 0], [n - t, 0], [0, 0]])
        m = tf.cast(mask, tf.float32)[..., None]
        return self.layout.pack(steps=tf.concat([hs * m, m], -1), long=long[:, None, :],
                                now=dt_now[:, -1:, None])

    def unpack(self, q, trim=True):
        p = self.layout.unpack(q)
        steps = p["steps"]
        mask = steps[..., -1] > 0.5
        if trim:
            t = trim_left_padding(mask)
            steps, mask = steps[:, -t:], mask[:, -t:]
        return steps[..., :-1], mask, p["long"][:, 0], p["now"][:, 0]

    def score(self, q, c, training=False, return_parts=False):
        hs, mask, long, now = self.unpack(q)
        w = self.short_attention.ragged(c, hs, mask)  # (B, C, n)
        short = tf.einsum("bcn,bnd->bcd", w, hs)
        shape = tf.shape(c)
        long = tf.broadcast_to(long[:, None, :], shape)
        now = tf.broadcast_to(now[:, None, :], tf.concat([shape[:2], [1]], 0))
        alpha = tf.sigmoid(self.fusion(tf.concat([c, long, short, now], -1)))[..., None]
        u = alpha * long + (1.0 - alpha) * short
        logits = self.scorer(tf.concat([u, c], -1), training=training)
        if return_parts:
            return logits, dict(weights=w, short=short, alpha=alpha[..., 0], user=u)
        return logits

    def candidate_cost(self, q):
        mask = q[:, :self.max_len, self.dim] > 0.5
        return (mean_real_length(mask) * self.short_attention.pair_cost()
                + 4 * trim_left_padding(mask) + 8 * self.dim)


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for SLi-Rec with the framework's settings and MGNM's D = 16."""
    return ml_collections.ConfigDict(dict(
        name="slirec", embedding_dim=16, attention_units=(80, 40), mlp_units=(100, 64),
        activation="relu", time_last_feature="from_first", long_mask_padding=True, dropout=0.0))


def build_model(config, info):
    """SLi-Rec as a :class:`PairwiseModel` from ``config.model`` / ``config.loss``."""
    cfg, d = config.model, default_model_config()
    item_tower = ItemTower(info.num_items, cfg.embedding_dim, name="item_tower")
    tower = SLiRecTower(
        item_tower, info.max_len,
        attention_units=tuple(cfg.get("attention_units", d.attention_units)),
        mlp_units=tuple(cfg.get("mlp_units", d.mlp_units)),
        activation=cfg.get("activation", d.activation),
        time_last_feature=cfg.get("time_last_feature", d.time_last_feature),
        long_mask_padding=cfg.get("long_mask_padding", d.long_mask_padding),
        dropout=cfg.get("dropout", d.dropout), name="slirec")
    return PairwiseModel(item_tower, tower, LossConfig(**dict(config.loss)),
                         extra_loss_weight=cfg.get("extra_loss_weight", 1.0),
                         score_chunk_elements=cfg.get("score_chunk_elements", 2 ** 24))
