"""FDSA: Feature-level Deeper Self-Attention network (Zhang et al., IJCAI 2019).

Tingting Zhang, Pengpeng Zhao, Yanchi Liu, Victor S. Sheng, Jiajie Xu, Deqing Wang, Guanfeng
Liu and Xiaofang Zhou, "Feature-level Deeper Self-Attention Network for Sequential
Recommendation", IJCAI 2019. Baseline "without pre-training" of MIRACLE's Table 2.

Two self-attention streams over the history ``i_1..i_n`` (left-padded, most recent last),
one user vector (K = 1)::

    item stream:     S = Encoder_item(E[i_t])                     (Sec. 3.3, item-level)
    feature stream:  f_t = features of item i_t as one vector      (Sec. 3.2, see below)
                     F = Encoder_feat(f_t)                         (Sec. 3.3, feature-level)
    user vector:     u = Dropout(LN(W [S_n ; F_n] + b))             (Sec. 3.4, concat + FC)
    score(v) = u . E[v]                                            (shared item embeddings)

Each encoder adds learned positions and runs causal self-attention blocks
(:class:`mirec.models.bert4rec.ItemSequenceEncoder`; position t sees positions <= t and the
last position's output is used).

Item features, one of:

* ``text_features`` ``(M + 1, F)`` floats (MIRACLE's / UniSRec's setting, used by the
  Table 2 config on Scientific): ``f_t = act(W_a t_{i_t} + b_a)``, a projection of the item's
  text vector. UniSRec's FDSA baseline (``baselines/fdsa.py``, ``adapter_layers [768, 300]``)
  does exactly this with RecBole's ``MLPLayers``, whose last layer has a ReLU
  (``adapter_activation="relu"``, the default; ``None`` for a plain linear map).
* ``attributes`` ``(M + 1, A)`` categorical ids (0 = none), e.g. ``DatasetInfo.item_category``
  as one column or S3-Rec-format attribute lists: ``f_t = sum_a alpha_a A[a]`` with the
  paper's vanilla attention ``alpha = softmax_a(w2 . ReLU(W1 A[a] + b1) + b2)`` over the
  item's present attributes (RecBole's ``VanillaAttention``; ``feature_pooling="mean"``
  averages instead). With one attribute per item alpha = 1.

Choices and what they rest on:

* Blocks: RecBole / UniSRec (the implementations MIRACLE's numbers come from): post-LN
  Transformer blocks, GELU, inner size 256, dropout 0.5 on hidden states and attention
  weights, LayerNorm eps 1e-12, 2 layers, 2 heads, hidden 300 (UniSRec ``props/FDSA.yaml``),
  embedding + position -> LayerNorm -> dropout at the input, LayerNorm + dropout after the
  concatenation layer. ``block="pre_ln"`` uses SASRec's blocks instead (the paper builds on
  SASRec's architecture).
* RecBole shares one position table and one LayerNorm between the two streams and the
  output; the paper does not say. Each stream has its own here.
* Positions count from the most recent item (left-padding invariant), as in
  :mod:`mirec.models.sasrec`.
* Loss: the shared objective (Table 2: full softmax, RecBole's ``loss_type=CE``) on the last
  position; the paper trains every position with a BCE-style loss.

Public API: :class:`FeatureAttentionPooling`, :class:`FDSATower`, :func:`build_tower`,
:func:`default_model_config`, :func:`default_loss_overrides`, :func:`item_features`.
"""

from __future__ import annotations

import ml_collections
import numpy as np

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.attention import masked_softmax
from mirec.models.bert4rec import ItemSequenceEncoder
from mirec.towers.user import SequenceUserTower

FEATURES = ("auto", "text", "attributes", "category")
POOLINGS = ("attention", "mean")


@tf.keras.utils.register_keras_serializable(package="mirec")
class FeatureAttentionPooling(tf.keras.layers.Layer):
    """FDSA's vanilla attention over an item's feature vectors (Sec. 3.2).

    ``alpha_a = softmax_a(w2 . ReLU(W1 x_a + b1) + b2)`` over the present features, output
    ``sum_a alpha_a x_a``; ``pooling="mean"`` gives the plain average.

    Input: ``x`` ``(..., A, dim)`` and boolean ``mask`` ``(..., A)``. Output ``(..., dim)``
    (zeros where no feature is present).

    Example:
      >>> pool = FeatureAttentionPooling(4)
      >>> pool(tf.ones((2, 3, 5, 4)), tf.ones((2, 3, 5), bool)).shape
      TensorShape([2, 3, 4])
    """

    def __init__(self, hidden_units, pooling="attention", **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.hidden_units = int(hidden_units)
        self.pooling = pooling
        self.w1 = tf.keras.layers.Dense(self.hidden_units, activation="relu", name="w1")
        self.w2 = tf.keras.layers.Dense(1, name="w2")

    def call(self, x, mask, return_weights=False):
        mask = tf.cast(mask, tf.bool)
        if self.pooling == "attention":
            weights = masked_softmax(self.w2(self.w1(x))[..., 0], mask, axis=-1)
        else:
            m = tf.cast(mask, x.dtype)
            weights = m / tf.maximum(tf.reduce_sum(m, -1, keepdims=True), 1.0)
        out = tf.reduce_sum(x * weights[..., None], -2)
        return (out, weights) if return_weights else out

    def get_config(self):
        cfg = super().get_config()
        cfg.update(hidden_units=self.hidden_units, pooling=self.pooling)
        return cfg


class FDSATower(SequenceUserTower):
    """History -> item stream + feature stream -> ``(batch_size, 1, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n.
      text_features: ``(M + 1, F)`` float item text vectors (row 0 = padding), or None.
      attributes: ``(M + 1, A)`` int attribute ids per item (0 = none), or None. Exactly one
        of ``text_features`` / ``attributes`` must be given.
      num_attribute_values: attribute vocabulary size (default: max id + 1).
      adapter_activation: activation of the text projection (``"relu"``: UniSRec).
      feature_pooling: ``"attention"`` (paper) or ``"mean"`` over an item's attributes.
      the rest: :class:`mirec.models.bert4rec.ItemSequenceEncoder`'s.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = FDSATower(ItemTower(10, 8), 4, attributes=np.arange(11)[:, None] % 3,
      ...                   num_layers=1, inner_size=16)
      >>> tower({"history": tf.constant([[0, 0, 3, 4]])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, text_features=None, attributes=None,
                 num_attribute_values=None, adapter_activation="relu",
                 feature_pooling="attention", num_layers=2, num_heads=2, inner_size=256,
                 dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12,
                 block="post_ln", **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if (text_features is None) == (attributes is None):
            raise ValueError("FDSA needs exactly one of text_features and attributes")
        rows = item_tower.num_items + 1
        enc = dict(num_layers=num_layers, num_heads=num_heads, inner_size=inner_size,
                   dropout=dropout, attention_dropout=attention_dropout,
                   activation=activation, epsilon=epsilon, block=block)
        self.item_encoder = ItemSequenceEncoder(self.dim, self.max_len, name="item_encoder",
                                                **enc)
        self.feature_encoder = ItemSequenceEncoder(self.dim, self.max_len,
                                                   name="feature_encoder", **enc)
        self.feature_mode = "text" if text_features is not None else "attributes"
        if self.feature_mode == "text":
            text_features = np.asarray(text_features, np.float32)
            if text_features.ndim != 2 or text_features.shape[0] != rows:
                raise ValueError(f"text_features must be (M + 1 = {rows}, F), got "
                                 f"{text_features.shape}")
            self._text = tf.constant(text_features)
            self.adapter = tf.keras.layers.Dense(self.dim, activation=adapter_activation,
                                                 name="text_adapter")
        else:
            attributes = np.asarray(attributes, np.int32)
            if attributes.ndim == 1:
                attributes = attributes[:, None]
            if attributes.ndim != 2 or attributes.shape[0] != rows:
                raise ValueError(f"attributes must be (M + 1 = {rows}, A), got "
                                 f"{attributes.shape}")
            self._attributes = tf.constant(attributes)
            vocab = int(num_attribute_values or int(attributes.max()) + 1)
            self.attribute_embedding = tf.keras.layers.Embedding(
                max(vocab, 2), self.dim, name="attribute_embedding")
            self.feature_pooling = FeatureAttentionPooling(self.dim, feature_pooling,
                                                           name="feature_pooling")
        self.concat = tf.keras.layers.Dense(self.dim, name="concat")
        self.ln_out = tf.keras.layers.LayerNormalization(epsilon=epsilon, name="ln_out")
        self.dropout = tf.keras.layers.Dropout(float(dropout))

    def feature_vectors(self, ids):
        """``(batch_size, n)`` item ids -> ``(batch_size, n, dim)`` feature vectors f_t."""
        ids = tf.cast(ids, tf.int32)
        if self.feature_mode == "text":
            f = self.adapter(tf.gather(self._text, ids))
        else:
            attrs = tf.gather(self._attributes, ids)  # (B, n, A)
            f = self.feature_pooling(self.attribute_embedding(attrs), attrs > 0)
        return f * tf.cast(ids > 0, f.dtype)[..., None]

    def encode(self, emb, mask, features, training):
        ids = tf.cast(features["history"], tf.int32)
        s = self.item_encoder(emb, mask, causal=True, training=training)[:, -1, :]
        f = self.feature_encoder(self.feature_vectors(ids), mask, causal=True,
                                 training=training)[:, -1, :]
        u = self.ln_out(self.concat(tf.concat([s, f], -1)))
        return self.dropout(u, training=training)[:, None, :]


def item_features(info, feature="auto"):
    """The FDSA/S3-Rec item features of a :class:`DatasetInfo`:
    ``("text", (M + 1, F) floats)`` or ``("attributes", (M + 1, A) ints)``.

    ``feature``: ``"text"`` (``info.item_text_features``), ``"attributes"``
    (``info.item_attributes``, a multi-attribute matrix if the data layer provides one),
    ``"category"`` (``info.item_category`` as one column), or ``"auto"``: the first of text,
    attributes, category that the dataset has.
    """
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {FEATURES}, got {feature!r}")
    found = {"text": getattr(info, "item_text_features", None),
             "attributes": getattr(info, "item_attributes", None),
             "category": getattr(info, "item_category", None)}
    order = ["text", "attributes", "category"] if feature == "auto" else [feature]
    for kind in order:
        if found[kind] is not None:
            if kind == "text":
                return "text", np.asarray(found[kind], np.float32)
            a = np.asarray(found[kind], np.int32)
            return "attributes", (a[:, None] if a.ndim == 1 else a)
    raise ValueError(f"dataset {info.name!r} has no item features of kind {order} (set "
                     "config.dataset.text_features or a category column)")


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` of MIRACLE's Table 2 FDSA row (UniSRec's ``props/FDSA.yaml``)."""
    return ml_collections.ConfigDict(dict(
        name="fdsa", embedding_dim=300, feature="auto", num_layers=2, num_heads=2,
        inner_size=256, dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12,
        block="post_ln", adapter_activation="relu", feature_pooling="attention"))


def default_loss_overrides() -> dict:
    """``config.loss`` fields this model needs: one user vector."""
    return dict(readout="single")


def build_tower(item_tower, info, cfg):
    """FDSA tower from ``config.model`` (fields of :func:`default_model_config`)."""
    d = default_model_config()

    def get(k):
        return cfg.get(k, d[k])

    kind, values = item_features(info, get("feature"))
    feats = {"text_features": values} if kind == "text" else {"attributes": values}
    return FDSATower(item_tower, info.max_len, adapter_activation=get("adapter_activation"),
                     feature_pooling=get("feature_pooling"), num_layers=get("num_layers"),
                     num_heads=get("num_heads"), inner_size=get("inner_size"),
                     dropout=get("dropout"), attention_dropout=get("attention_dropout"),
                     activation=get("activation"), epsilon=get("epsilon"),
                     block=get("block"), name="fdsa", **feats)
