"""A2SVD: attentive asynchronous SVD, as a baseline of MGNM's Table 2.

Yu, Lian, Mahmoody, Liu & Xie, "Adaptive User Modeling with Long and Short-Term Preferences
for Personalized Recommendation", IJCAI 2019 (the long-term component of SLi-Rec); ASVD is
Koren, KDD 2008 (a user is the sum of the factors of the items she consumed, no user factor).
Implementation followed: microsoft/recommenders ``A2SVDModel`` (as shipped in the SURGE
release tsinghua-fib-lab/SIGIR21-SURGE, the framework MGNM's baseline list mirrors).

Structure (K = 1)::

    x_j = E[i_j]                                history item embeddings (shared item tower)
    a_j = (x_j W) . v                           W: D x D, v: (D,)   (framework ``_attention``)
    alpha = softmax_j(a_j)                      over the real history items
    u = sum_j alpha_j x_j                       user vector, (D,)
    logit(c) = MLP([u, e_c])                    ReLU (100, 64) then one linear unit

The user tower returns ``u`` as ``(batch, 1, D)``; scoring is the MLP over the concatenation
(:class:`mirec.models.pairwise.MLPScorer`), trained with pointwise BCE and 5 uniform negatives
(MGNM's protocol) by :class:`mirec.models.pairwise.PairwiseModel`.

The paper's equation numbers were not checked (its PDF is not in this repository); the
structure follows the official code named above.

Choices and what they rest on:

* Attention logits are linear in ``x`` (``activation=None``), as the framework computes them;
  ``activation="tanh"`` gives the usual ``v . tanh(W x)`` additive attention instead.
* ``mask_padding=True`` (default): the softmax runs over real items only. The framework's
  ``_attention`` has no mask: padded slots (the embedding of id 0 there, the zero vector here)
  share the softmax and shrink ``u`` for short histories; ``mask_padding=False`` reproduces
  that (padded slots get logit 0).
* No category embedding (the framework concatenates item and category embeddings; the
  offline Amazon data has no categories), no user embedding, no batch normalisation in the MLP,
  no embedding/layer L2 penalties (framework 1e-6 in the SURGE scripts), no dropout (framework
  default 0).

Public API: :class:`AsvdAttention`, :class:`A2SVDTower`, :func:`build_model`,
:func:`default_model_config`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.attention import masked_softmax
from mirec.models.losses import LossConfig
from mirec.models.pairwise import MLPScorer, PairwiseModel, RowLayout, TargetAwareTower
from mirec.towers.item import ItemTower


@tf.keras.utils.register_keras_serializable(package="mirec")
class AsvdAttention(tf.keras.layers.Layer):
    """Attentive pooling of the history: ``u = sum_j softmax_j((x_j W) . v) x_j``.

    Input ``x (batch, n, dim)`` and ``mask (batch, n)``; output ``(batch, dim)`` (with
    ``return_weights=True`` also the ``(batch, n)`` weights).

    Args:
      activation: applied to ``x W`` before the dot product with ``v`` (None = framework).
      mask_padding: softmax over real items only (True) or over every slot (framework).

    Example:
      >>> AsvdAttention()(tf.ones((2, 5, 4)), tf.ones((2, 5), bool)).shape
      TensorShape([2, 4])
    """

    def __init__(self, activation=None, mask_padding=True, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.mask_padding = bool(mask_padding)
        self.act = tf.keras.activations.get(activation)

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(d, d), initializer="glorot_uniform")
        self.query = self.add_weight(name="query", shape=(d,), initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, x, mask=None, return_weights=False):
        logits = tf.tensordot(self.act(tf.tensordot(x, self.kernel, 1)), self.query, 1)
        if mask is None or not self.mask_padding:
            w = tf.nn.softmax(logits, axis=-1)
        else:
            w = masked_softmax(logits, mask, axis=-1)
        u = tf.einsum("bn,bnd->bd", w, x)
        return (u, w) if return_weights else u

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(activation=self.activation, mask_padding=self.mask_padding)
        return cfg


class A2SVDTower(TargetAwareTower):
    """History -> attentive user vector ``(batch, 1, dim)``; ``score`` = MLP([u, e_c]).

    Example:
      >>> tower = A2SVDTower(ItemTower(10, 8), max_len=4, mlp_units=(6,))
      >>> q = tower({"history": tf.constant([[0, 1, 2, 3]])})
      >>> q.shape, tower.score(q, tf.ones((1, 7, 8))).shape
      (TensorShape([1, 1, 8]), TensorShape([1, 7]))
    """

    def __init__(self, item_tower, max_len, mlp_units=(100, 64), activation="relu",
                 attention_activation=None, mask_padding=True, dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.attention = AsvdAttention(attention_activation, mask_padding, name="attention")
        self.scorer = MLPScorer(mlp_units, activation, dropout, name="scorer")
        self.layout = RowLayout([("user", 1, self.dim)])

    def encode(self, emb, mask, features, training):
        return self.attention(emb, mask)[:, None, :]

    def score(self, q, c, training=False):
        u = tf.broadcast_to(q[:, :1, :self.dim], tf.shape(c))
        return self.scorer(tf.concat([u, c], axis=-1), training=training)

    def candidate_cost(self, q):
        return tf.constant(2 * self.dim + sum(self.scorer.units), tf.int32)


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for A2SVD with the framework's settings (MLP (100, 64), linear attention
    logits) and MGNM's D = 16."""
    return ml_collections.ConfigDict(dict(
        name="a2svd", embedding_dim=16, mlp_units=(100, 64), activation="relu",
        attention_activation=None, mask_padding=True, dropout=0.0))


def build_model(config, info):
    """A2SVD as a :class:`PairwiseModel` from ``config.model`` / ``config.loss``."""
    cfg, d = config.model, default_model_config()
    item_tower = ItemTower(info.num_items, cfg.embedding_dim, name="item_tower")
    tower = A2SVDTower(item_tower, info.max_len, mlp_units=tuple(cfg.get("mlp_units", d.mlp_units)),
                       activation=cfg.get("activation", d.activation),
                       attention_activation=cfg.get("attention_activation",
                                                    d.attention_activation),
                       mask_padding=cfg.get("mask_padding", d.mask_padding),
                       dropout=cfg.get("dropout", d.dropout), name="a2svd")
    return PairwiseModel(item_tower, tower, LossConfig(**dict(config.loss)),
                         extra_loss_weight=cfg.get("extra_loss_weight", 1.0),
                         score_chunk_elements=cfg.get("score_chunk_elements", 2 ** 24))
