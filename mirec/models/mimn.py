"""MIMN: multi-channel user interest memory network (Pi et al., KDD 2019).

Qi Pi, Weijie Bian, Guorui Zhou, Xiaoqiang Zhu and Kun Gai, "Practice on Long Sequential User
Behavior Modeling for Click-Through Rate Prediction", KDD 2019. A CTR model; MGNM's Table 2
uses it as a multi-interest baseline. Implementation followed: the official code
UIC-Paper/MIMN (``script/mimn.py`` ``MIMNCell``, ``script/model.py`` ``Model_MIMN``), compacted.

The user interest centre (UIC) reads the history once, behaviour by behaviour, into

* an **NTM memory** ``M`` (``m`` slots of width ``Dm = D``), driven by a GRU controller
  (input ``[x_t, r_{t-1}]``, state ``h``). From the controller output ``o_t`` a linear map
  (clipped to +-20) gives a read and a write head: keys ``k = tanh(.)``, sharpness
  ``beta = 2 (softplus(.) + 1)``, erase ``e = sigmoid(.)`` and add ``a = tanh(.)`` vectors.
  Addressing: ``K_i = (cos(k, Key_i) + cos(k, M_i)) / 2`` with learned slot keys ``Key``,
  ``w = softmax_i(beta K_i)``. Read ``r_t = sum_i w^r_i M_i``; write
  ``M_i <- M_i (1 - w^w_i e) + w^w_i a``.
* **memory utilisation regularisation**: the accumulated write weights ``g = sum_t w^w_t`` are
  fed (``/ 400``, stop-gradient) to the head map, so the controller can steer writes to
  under-used slots, and ``utilization_weight * mean_i (g_i - mean(g))^2`` is added to the loss.
* the **memory induction unit** (MIU): ``m`` channel states ``S_i`` (width Dm); at each step the
  slot with the largest read weight is selected and only its channel is updated,
  ``S_i <- GRU([x_t, stopgrad(M_i)], S_i)`` (one GRU shared by the channels).

Prediction for a target ``e`` (the target-dependent part, vectorised over candidates): one more
controller step with ``e`` as input reads ``r_e`` from the final memory and gives
``read_out = clip(W_o [o_e, r_e])``; DIN attention of ``e`` over the channels (sigmoid MLP
(80, 40), softmax over channels) gives ``s_e``; ``mean_memory`` is the slot average of the
write-weighted add vectors (``sum_aggre``), and

    logit = MLP([e, sum_t x_t, read_out, s_e, mean_memory * e])    (200, 80) hidden units

The paper's equation numbers were not checked (its PDF is not in this repository); the
structure follows the official code named above.

Choices and what they rest on:

* Widths: memory width ``Dm = D`` and controller units ``D`` (official: both 32, the width of
  its item+category embedding, with EMBEDDING_DIM 16); ``m = 4`` slots (official
  MEMORY_SIZE 4); the official ``sharp_value`` 2 and ``clip_value`` 20.
* Simplified: the official write head additionally applies NTM location addressing (a learned
  3-tap circular shift and a sharpening power) when utilisation regularisation is on; here
  the write weights are the content-addressing weights. One read and one write head (official).
* The regulariser's scale: the code uses ``0.001 * mean((g - mean g)^2) / m / batch``, i.e.
  about ``1e-6 * mean(...)`` at its batch 128-256 and m = 4; ``utilization_weight`` multiplies
  ``mean((g - mean g)^2)`` and defaults to 1e-6 (the paper gives no value).
* Padded (left) history slots keep the initial state, as the official ``clear_mask_state``
  does; the history sum ignores them (the official sums the embedding of padding id 0).
* Prediction MLP uses ReLU and no batch normalisation (official: BN then PReLU); no auxiliary
  loss (MIMN_with_aux); no category embedding; Keras GRU cells (``reset_after=True``).

Public API: :class:`MIMNMemory`, :class:`MIMNTower`, :func:`build_model`,
:func:`default_model_config`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.models.losses import LossConfig
from mirec.models.pairwise import (
    AttentionMLP,
    MLPScorer,
    PairwiseModel,
    RowLayout,
    TargetAwareTower,
    masked_scan,
    trim_left_padding,
)
from mirec.towers.item import ItemTower


def _cosine(k, m):
    """``(B, C, S)`` cosine similarities of keys ``k (B, C, Dm)`` and slots ``m (B|1, S, Dm)``."""
    kn = k / (tf.norm(k, axis=-1, keepdims=True) + 1e-8)
    mn = m / (tf.norm(m, axis=-1, keepdims=True) + 1e-8)
    return tf.einsum("bcd,bsd->bcs", kn, tf.broadcast_to(mn, tf.concat(
        [tf.shape(k)[:1], tf.shape(m)[1:]], 0)))


@tf.keras.utils.register_keras_serializable(package="mirec")
class MIMNMemory(tf.keras.layers.Layer):
    """MIMN's UIC cell: NTM memory + utilisation feedback + memory induction unit.

    ``initial_state(batch)`` -> state dict; ``step(x (batch, D), state)`` -> next state;
    ``read(e (batch, C, D), state)`` -> ``(batch, C, controller_units)`` read outputs of one
    controller step per target (the memory is not written). State entries: ``h`` controller
    ``(B, units)``, ``r`` last read vector ``(B, D)``, ``M`` memory ``(B, m, D)``, ``usage``
    accumulated write weights ``(B, m)``, ``aggre`` write-weighted add vectors ``(B, m, D)``,
    ``S`` induction channels ``(B, m, D)``.

    Args:
      memory_size: m slots.
      controller_units: GRU controller width (also the read-out width).
      induction: keep the MIU channels.
      utilization_feedback: feed ``usage / 400`` (stop-gradient) to the head map.
      sharpness, clip_value: the official ``sharp_value`` (2) and ``clip_value`` (20).

    Example:
      >>> mem = MIMNMemory(memory_size=3, controller_units=5)
      >>> mem.build(tf.TensorShape([None, 4]))
      >>> s = mem.step(tf.ones((2, 4)), mem.initial_state(2))
      >>> s["M"].shape, mem.read(tf.ones((2, 6, 4)), s).shape
      (TensorShape([2, 3, 4]), TensorShape([2, 6, 5]))
    """

    def __init__(self, memory_size=4, controller_units=16, induction=True,
                 utilization_feedback=True, sharpness=2.0, clip_value=20.0,
                 utilization_scale=400.0, **kwargs):
        super().__init__(**kwargs)
        self.memory_size = int(memory_size)
        self.controller_units = int(controller_units)
        self.induction = bool(induction)
        self.utilization_feedback = bool(utilization_feedback)
        self.sharpness = float(sharpness)
        self.clip_value = float(clip_value)
        self.utilization_scale = float(utilization_scale)

    def build(self, input_shape):
        d = self.memory_dim = int(input_shape[-1])
        m, u = self.memory_size, self.controller_units
        self.controller = tf.keras.layers.GRUCell(u, name="controller")
        self.controller.build(tf.TensorShape([None, 2 * d]))
        self.heads = tf.keras.layers.Dense(4 * d + 2, name="heads")
        self.heads.build(tf.TensorShape([None, u + (m if self.utilization_feedback else 0)]))
        self.read_out = tf.keras.layers.Dense(u, name="read_out")
        self.read_out.build(tf.TensorShape([None, u + d]))
        self.slot_keys = self.add_weight(
            name="slot_keys", shape=(m, d),
            initializer=tf.keras.initializers.RandomNormal(stddev=0.5))
        self.initial_memory = self.add_weight(
            name="initial_memory", shape=(m, d), trainable=False,
            initializer=tf.keras.initializers.RandomNormal(stddev=1e-5))
        self.initial_read = self.add_weight(name="initial_read", shape=(d,),
                                            initializer="glorot_uniform")
        if self.induction:
            self.channel_gru = tf.keras.layers.GRUCell(d, name="channel_gru")
            self.channel_gru.build(tf.TensorShape([None, 2 * d]))
        super().build(input_shape)

    def initial_state(self, batch):
        m, d = self.memory_size, self.memory_dim
        return {"h": tf.zeros([batch, self.controller_units]),
                "r": tf.tile(tf.tanh(self.initial_read)[None], [batch, 1]),
                "M": tf.tile(tf.tanh(self.initial_memory)[None], [batch, 1, 1]),
                "usage": tf.zeros([batch, m]), "aggre": tf.zeros([batch, m, d]),
                "S": tf.zeros([batch, m, d])}

    def _controller(self, x, r, h, usage):
        """Controller output ``o`` and new state for rows of ``x``; clipped head parameters."""
        o, new_h = self.controller(tf.concat([x, r], -1), [h])
        par = o
        if self.utilization_feedback:
            par = tf.concat([o, tf.stop_gradient(usage / self.utilization_scale)], -1)
        p = tf.clip_by_value(self.heads(par), -self.clip_value, self.clip_value)
        return o, new_h[0], p

    def _head(self, p, i):
        """Key ``(.., D)`` and sharpness ``(..,)`` of head i (0 = read, 1 = write)."""
        d = self.memory_dim
        start = i * (d + 1)
        key = tf.tanh(p[..., start:start + d])
        beta = (tf.nn.softplus(p[..., start + d]) + 1.0) * self.sharpness
        return key, beta

    def address(self, key, beta, memory):
        """Content addressing ``softmax_i(beta (cos(k, Key_i) + cos(k, M_i)) / 2)``:
        ``key (B, C, D)``, ``beta (B, C)``, ``memory (B, m, D)`` -> ``(B, C, m)``."""
        sim = 0.5 * (_cosine(key, self.slot_keys[None]) + _cosine(key, memory))
        return tf.nn.softmax(beta[..., None] * sim, axis=-1)

    def step(self, x, state):
        d, m = self.memory_dim, self.memory_size
        mem = state["M"]
        _, h, p = self._controller(x, state["r"], state["h"], state["usage"])
        k_r, b_r = self._head(p, 0)
        k_w, b_w = self._head(p, 1)
        erase = tf.sigmoid(p[:, 2 * d + 2:3 * d + 2])
        add = tf.tanh(p[:, 3 * d + 2:4 * d + 2])
        w_r = self.address(k_r[:, None], b_r[:, None], mem)[:, 0]  # (B, m)
        w_w = self.address(k_w[:, None], b_w[:, None], mem)[:, 0]
        new = dict(state, h=h, r=tf.einsum("bm,bmd->bd", w_r, mem))
        if self.induction:
            sel = tf.one_hot(tf.argmax(w_r, axis=-1), m)[..., None]  # (B, m, 1)
            b = tf.shape(x)[0]
            inp = tf.concat([tf.tile(x[:, None], [1, m, 1]), tf.stop_gradient(mem) * sel], -1)
            s_new, _ = self.channel_gru(tf.reshape(inp, [b * m, 2 * d]),
                                        [tf.reshape(state["S"], [b * m, d])])
            new["S"] = sel * tf.reshape(s_new, [b, m, d]) + (1.0 - sel) * state["S"]
        new["M"] = mem * (1.0 - w_w[..., None] * erase[:, None]) + w_w[..., None] * add[:, None]
        new["aggre"] = state["aggre"] + tf.stop_gradient(w_w)[..., None] * add[:, None]
        new["usage"] = state["usage"] + w_w
        return new

    def read(self, e, state):
        b, c = tf.shape(e)[0], tf.shape(e)[1]
        d, u = self.memory_dim, self.controller_units

        def rows(t):  # (B, F) -> (B * C, F)
            return tf.reshape(tf.tile(t[:, None], [1, c, 1]), [b * c, t.shape[-1]])

        o, _, p = self._controller(tf.reshape(e, [b * c, d]), rows(state["r"]),
                                   rows(state["h"]), rows(state["usage"]))
        key, beta = self._head(tf.reshape(p, [b, c, p.shape[-1]]), 0)
        w = self.address(key, beta, state["M"])  # (B, C, m)
        r = tf.einsum("bcm,bmd->bcd", w, state["M"])
        out = self.read_out(tf.concat([tf.reshape(o, [b, c, u]), r], -1))
        return tf.clip_by_value(out, -self.clip_value, self.clip_value)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(memory_size=self.memory_size, controller_units=self.controller_units,
                   induction=self.induction, utilization_feedback=self.utilization_feedback,
                   sharpness=self.sharpness, clip_value=self.clip_value,
                   utilization_scale=self.utilization_scale)
        return cfg


def utilization_penalty(usage):
    """``mean_b mean_i (g_bi - mean_i g_bi)^2`` of accumulated write weights ``(B, m)``."""
    return tf.reduce_mean(tf.square(usage - tf.reduce_mean(usage, -1, keepdims=True)))


class MIMNTower(TargetAwareTower):
    """History -> packed UIC state ``(batch, 5 + 2 m, max(units, D, m))``; ``score`` as MIMN.

    State layout: ``controller`` (h), ``read`` (r), ``his_sum``, ``mean_memory``, ``usage``
    (one row each), ``memory`` and ``channels`` (m rows each).

    Example:
      >>> tower = MIMNTower(ItemTower(10, 8), max_len=4, memory_size=2, mlp_units=(6,),
      ...                   attention_units=(6,))
      >>> q = tower({"history": tf.constant([[0, 1, 2, 3]])})
      >>> q.shape, tower.score(q, tf.ones((1, 7, 8))).shape
      (TensorShape([1, 9, 8]), TensorShape([1, 7]))
    """

    def __init__(self, item_tower, max_len, memory_size=4, controller_units=None,
                 induction=True, utilization_regularization=True, utilization_weight=1e-6,
                 sharpness=2.0, clip_value=20.0, mlp_units=(200, 80),
                 attention_units=(80, 40), attention_activation="sigmoid", activation="relu",
                 dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        d, m = self.dim, int(memory_size)
        units = int(controller_units or d)
        self.utilization_regularization = bool(utilization_regularization)
        self.utilization_weight = float(utilization_weight)
        self.memory = MIMNMemory(m, units, induction, self.utilization_regularization,
                                 sharpness, clip_value, name="uic")
        self.channel_attention = (AttentionMLP(d, attention_units, attention_activation,
                                               project_keys=False, name="channel_attention")
                                  if induction else None)
        self.scorer = MLPScorer(mlp_units, activation, dropout, name="scorer")
        self.layout = RowLayout([("controller", 1, units), ("read", 1, d), ("his_sum", 1, d),
                                 ("mean_memory", 1, d), ("usage", 1, m), ("memory", m, d),
                                 ("channels", m, d)])

    def encode(self, emb, mask, features, training):
        if not self.memory.built:  # variables cannot be created inside the scan
            self.memory.build(tf.TensorShape([None, self.dim]))
        t = trim_left_padding(mask)
        state = masked_scan(self.memory.step, emb[:, -t:], mask[:, -t:],
                            self.memory.initial_state(tf.shape(emb)[0]), return_sequences=False)
        if self.utilization_regularization and self.utilization_weight > 0:
            self.add_loss(self.utilization_weight * utilization_penalty(state["usage"]))
        return self.layout.pack(
            controller=state["h"][:, None], read=state["r"][:, None],
            his_sum=tf.reduce_sum(emb, 1)[:, None],
            mean_memory=tf.reduce_mean(state["aggre"], 1)[:, None],
            usage=state["usage"][:, None], memory=state["M"], channels=state["S"])

    def score(self, q, c, training=False):
        p = self.layout.unpack(q)
        state = {"h": p["controller"][:, 0], "r": p["read"][:, 0], "M": p["memory"],
                 "usage": p["usage"][:, 0]}
        shape = tf.shape(c)
        parts = [c, tf.broadcast_to(p["his_sum"], shape), self.memory.read(c, state)]
        if self.channel_attention is not None:
            channels = p["channels"]
            w = self.channel_attention(c[:, :, None, :], channels[:, None])  # (B, C, m)
            parts.append(tf.einsum("bcm,bmd->bcd", w, channels))
        parts.append(p["mean_memory"] * c)
        return self.scorer(tf.concat(parts, -1), training=training)

    def candidate_cost(self, q):
        att = sum(self.channel_attention.units) if self.channel_attention is not None else 0
        return tf.constant(self.memory.memory_size * (4 * self.dim + att)
                           + sum(self.scorer.units) + 8 * self.dim, tf.int32)


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for MIMN with the official settings (m = 4, MIU and utilisation
    regularisation on, MLP (200, 80), channel attention (80, 40) sigmoid) and MGNM's D = 16."""
    return ml_collections.ConfigDict(dict(
        name="mimn", embedding_dim=16, memory_size=4, controller_units=None, induction=True,
        utilization_regularization=True, utilization_weight=1e-6, sharpness=2.0,
        clip_value=20.0, mlp_units=(200, 80), attention_units=(80, 40),
        attention_activation="sigmoid", activation="relu", dropout=0.0))


def build_model(config, info):
    """MIMN as a :class:`PairwiseModel` from ``config.model`` / ``config.loss``."""
    cfg, d = config.model, default_model_config()
    item_tower = ItemTower(info.num_items, cfg.embedding_dim, name="item_tower")
    keys = ("memory_size", "controller_units", "induction", "utilization_regularization",
            "utilization_weight", "sharpness", "clip_value", "attention_activation",
            "activation", "dropout")
    kw = {k: cfg.get(k, d[k]) for k in keys}
    tower = MIMNTower(item_tower, info.max_len,
                      mlp_units=tuple(cfg.get("mlp_units", d.mlp_units)),
                      attention_units=tuple(cfg.get("attention_units", d.attention_units)),
                      name="mimn", **kw)
    return PairwiseModel(item_tower, tower, LossConfig(**dict(config.loss)),
                         extra_loss_weight=cfg.get("extra_loss_weight", 1.0),
                         score_chunk_elements=cfg.get("score_chunk_elements", 2 ** 24))
