"""S3-Rec: self-supervised pre-training by mutual information maximisation (Zhou et al., CIKM 2020).

Kun Zhou, Hui Wang, Wayne Xin Zhao, Yutao Zhu, Sirui Wang, Fuzheng Zhang, Zhongyuan Wang and
Ji-Rong Wen, "S3-Rec: Self-Supervised Learning for Sequential Recommendation with Mutual
Information Maximization", CIKM 2020. Baseline "with pre-training" of MIRACLE's Table 2.

One Transformer encoder (item embedding + learned positions, post-LN blocks; shared with
BERT4Rec: :class:`mirec.models.bert4rec.MaskedSequenceTower`) is

1. pre-trained (bidirectional attention) with four objectives over items and attributes,
   all scored with a bilinear form ``F(x, y) = sigma(x^T W y)`` (a Dense layer per objective):

   * AAP, associated attribute prediction: at every unmasked position t, the output h_t
     predicts the item's attributes (multi-label binary cross-entropy over all attributes);
   * MIP, masked item prediction: items are replaced by [MASK] with probability
     ``mask_prob``; at a masked position the true item should score above a sampled
     negative: ``BCE(sigma(F(h_t, E[i_t]) - F(h_t, E[i_neg])), 1)``;
   * MAP, masked attribute prediction: at a masked position h_t predicts the masked item's
     attributes (multi-label BCE);
   * SP, segment prediction: a random segment of the sequence is masked; the last-position
     output of the masked sequence should score the segment itself (encoded alone, the rest
     of the sequence [MASK]ed) above a segment of the same length taken from another place
     in the batch: ``BCE(sigma(F(c, s_pos) - F(c, s_neg)), 1)``;

   total ``aap_weight L_AAP + mip_weight L_MIP + map_weight L_MAP + sp_weight L_SP``;
2. fine-tuned like SASRec: causal attention, the last position's output is the user vector
   ``(batch_size, 1, embedding_dim)``, scored against the shared item embeddings with the
   shared objective (Table 2: full softmax, RecBole's ``loss_type=CE``).

Attributes. The model receives an ``(M + 1, A)`` int matrix of attribute ids per item
(0 = none; ids 1..V-1) and either a table of V attribute embeddings (learned), or
``attribute_vectors`` ``(V, F)`` from which attribute embeddings are computed by a projection
``ReLU(W v + b)``. :func:`build_model` chooses, by ``config.model.attributes``:

* ``"text"`` (the Table 2 config on Scientific): UniSRec's S3-Rec baseline
  (``baselines/s3rec.py``): each item's one "attribute" is the item itself, embedded by a
  projection of its text vector (``adapter_layers [768, 300]``, RecBole ``MLPLayers`` with a
  ReLU). AAP then asks the contextual state of an item to recognise that item's text among
  all items' texts, MAP the same for a masked item. The Scientific release has no category
  column (its text is "title. categories. brand." with the category words joined), and this
  is what MIRACLE's source of baselines ran.
* ``"category"``: ``DatasetInfo.item_category`` as one attribute column (synthetic data,
  Taobao, MovieLens genres);
* ``"attributes"``: ``DatasetInfo.item_attributes`` if the data layer provides a
  multi-attribute matrix (S3-Rec's ``*_item2attributes.json`` for the Amazon 2014 sets);
* ``"auto"``: the first available of text, attributes, category.

Choices and what they rest on:

* Everything above follows the official code (RUCAIBox/CIKM2020-S3Rec ``models.py``) and
  RecBole/UniSRec's port, including the double sigmoid of MIP and SP (``F`` already ends in
  a sigmoid and the difference goes through another) and the [MASK] id ``M + 1`` with its
  own input vector.
* Loss weights: UniSRec's / RecBole's S3-Rec (AAP 1.0, MIP 0.2, MAP 1.0, SP 0.5); the
  official code's defaults are AAP 0.2, MIP 1.0, MAP 1.0, SP 0.5.
* Normalisation: the official code sums every term over the batch; we divide each sum by
  the number of rows B, which keeps the terms' relative weights and (with Adam) the
  updates the same up to Adam's epsilon, while making the loss independent of B.
* Pre-training input: ``features["history"]`` with ``features["target"]`` appended (the
  known part of the sequence), keeping the last n items so positions match fine-tuning.
* MIP negatives: uniform over items 1..M, redrawn once where they hit an item of the same
  sequence (the official code rejects until none does). Rows with fewer than two items have
  no segment and are left out of SP (the official code keeps them with a constant loss).
  Negative segments are cut from the batch's items laid end to end (RecBole; the official
  code uses the whole data set's).
* ``finish_pretraining()`` freezes what only pre-training uses (the four heads, the attribute
  embeddings/projection, the [MASK] vector) so fine-tuning updates only the encoder and items.

Public API: :class:`S3RecTower`, :class:`S3RecModel`, :func:`build_model`,
:func:`default_model_config`, :func:`segment_prediction_inputs`.
"""

from __future__ import annotations

import ml_collections
import numpy as np

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.models.base import MultiInterestModel
from mirec.models.bert4rec import MaskedSequenceTower
from mirec.models.fdsa import item_features
from mirec.models.losses import LossConfig
from mirec.towers.item import ItemTower

OBJECTIVES = ("aap", "mip", "map", "sp")


class S3RecTower(MaskedSequenceTower):
    """Fine-tuning user tower: causal encoder, last position, ``(batch_size, 1, dim)``.

    ``sequence_outputs(ids, causal=False)`` (bidirectional) is what pre-training uses.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = S3RecTower(ItemTower(10, 8), max_len=4, num_layers=1, inner_size=16)
      >>> tower({"history": tf.constant([[0, 0, 3, 4]])}).shape
      TensorShape([1, 1, 8])
    """

    def call(self, features, training=None):
        ids = tf.cast(features["history"], tf.int32)
        return self.sequence_outputs(ids, causal=True, training=training)[:, -1:, :]


def segment_prediction_inputs(seq, mask_id, uniform=None):
    """The three sequences of segment prediction, vectorised over the batch.

    For each row with L >= 2 real items: a length ``s ~ U{1..L//2}`` and a start
    ``j ~ U{0..L-s}`` (among the real items), and a negative start ``k ~ U{0..T-s}`` in the
    batch's T real items laid end to end (row by row, oldest first).

    Args:
      seq: ``(batch_size, n)`` int ids, left-padded with 0.
      mask_id: the [MASK] id.
      uniform: optional ``(batch_size, 3)`` floats in [0, 1) for (s, j, k) (tests); drawn
        with ``tf.random.uniform`` otherwise.

    Returns:
      ``(masked, pos, neg, valid)``: ``masked`` = seq with the segment [MASK]ed; ``pos`` =
      the segment with every other real position [MASK]ed; ``neg`` = same with the negative
      segment's items in the segment's place; ``valid`` ``(batch_size,)`` bool, L >= 2
      (other rows are returned unchanged).
    """
    seq = tf.cast(seq, tf.int32)
    n = tf.shape(seq)[1]
    real = seq > 0
    length = tf.reduce_sum(tf.cast(real, tf.int32), 1)  # (B,)
    if uniform is None:
        uniform = tf.random.uniform(tf.stack([tf.shape(seq)[0], 3]))
    u = tf.cast(uniform, tf.float32)
    valid = length >= 2
    half = tf.maximum(length // 2, 1)
    s = 1 + tf.minimum(tf.cast(u[:, 0] * tf.cast(half, tf.float32), tf.int32), half - 1)
    span = tf.maximum(length - s + 1, 1)
    j = tf.minimum(tf.cast(u[:, 1] * tf.cast(span, tf.float32), tf.int32), span - 1)
    flat = tf.boolean_mask(seq, real)  # (T,) the batch's items end to end
    total = tf.shape(flat)[0]
    kspan = tf.maximum(total - s + 1, 1)
    k = tf.minimum(tf.cast(u[:, 2] * tf.cast(kspan, tf.float32), tf.int32), kspan - 1)
    pos = tf.range(n)[None, :]  # (1, n)
    lo = (n - length + j)[:, None]  # first padded-coordinate position of the segment
    in_seg = (pos >= lo) & (pos < lo + s[:, None]) & valid[:, None]
    mask_fill = tf.fill(tf.shape(seq), mask_id)
    masked = tf.where(in_seg, mask_fill, seq)
    pos_seg = tf.where(real & ~in_seg & valid[:, None], mask_fill, seq)
    neg_idx = tf.clip_by_value(k[:, None] + pos - lo, 0, tf.maximum(total - 1, 0))
    neg_items = tf.gather(tf.concat([flat, [0]], 0), neg_idx)
    neg_seg = tf.where(in_seg, neg_items, pos_seg)
    return masked, pos_seg, neg_seg, valid


def _dedupe_rows(attributes):
    """``(M + 1, A)`` int32 with repeated ids within a row set to 0 (each label counts once)."""
    a = np.asarray(attributes, np.int32)
    if a.ndim == 1:
        a = a[:, None]
    a = np.sort(a, axis=1)
    dup = np.zeros_like(a, bool)
    dup[:, 1:] = a[:, 1:] == a[:, :-1]
    return np.where(dup, 0, a).astype(np.int32)


class S3RecModel(MultiInterestModel):
    """S3-Rec: :class:`S3RecTower` + item tower + the four pre-training objectives.

    Args:
      item_tower, user_tower: the shared :class:`ItemTower` and an :class:`S3RecTower`.
      attributes: ``(M + 1, A)`` int attribute ids per item (0 = none), ids < V.
      num_attributes: V (default: max id + 1, or ``len(attribute_vectors)``).
      attribute_vectors: optional ``(V, F)`` floats; attribute embeddings are then
        ``ReLU(W v + b)`` (UniSRec's text setting) instead of a learned table.
      mask_prob: MIP/MAP masking probability.
      aap_weight, mip_weight, map_weight, sp_weight: loss weights.
      loss: the fine-tuning objective (:class:`LossConfig`).
    """

    def __init__(self, item_tower, user_tower, attributes, num_attributes=None,
                 attribute_vectors=None, mask_prob=0.2, aap_weight=1.0, mip_weight=0.2,
                 map_weight=1.0, sp_weight=0.5, **kwargs):
        kwargs.setdefault("loss", LossConfig(kind="full_softmax", readout="single"))
        super().__init__(item_tower, user_tower, **kwargs)
        attributes = _dedupe_rows(attributes)
        if attributes.shape[0] != item_tower.num_items + 1:
            raise ValueError(f"attributes must have M + 1 = {item_tower.num_items + 1} rows, "
                             f"got {attributes.shape}")
        if attribute_vectors is not None:
            attribute_vectors = np.asarray(attribute_vectors, np.float32)
            num_attributes = len(attribute_vectors)
        self.num_attributes = int(num_attributes or int(attributes.max()) + 1)
        if attributes.max() >= self.num_attributes:
            raise ValueError(f"attribute ids must be < {self.num_attributes}")
        self._attributes = tf.constant(attributes)
        self.mask_prob = float(mask_prob)
        self.weights_by_objective = dict(aap=float(aap_weight), mip=float(mip_weight),
                                         map=float(map_weight), sp=float(sp_weight))
        dim = item_tower.embedding_dim
        if attribute_vectors is not None:
            self._attribute_vectors = tf.constant(attribute_vectors)
            self.attribute_adapter = tf.keras.layers.Dense(dim, activation="relu",
                                                           name="attribute_adapter")
            self.attribute_adapter.build((None, attribute_vectors.shape[1]))
            self.attribute_table = None
        else:
            self._attribute_vectors = None
            self.attribute_adapter = None
            self.attribute_table = tf.keras.layers.Embedding(
                max(self.num_attributes, 2), dim, name="attribute_embedding")
            self.attribute_table.build((None,))
        self.heads = {}
        for name in OBJECTIVES:
            head = tf.keras.layers.Dense(dim, name=f"{name}_head")
            head.build((None, dim))
            setattr(self, f"{name}_head", head)
            self.heads[name] = head
        self.pretraining_finished = False

    def attribute_embeddings(self):
        """``(V, dim)`` embeddings of attribute ids 0..V-1 (0 is never a label)."""
        if self.attribute_adapter is not None:
            return self.attribute_adapter(self._attribute_vectors)
        return self.attribute_table(tf.range(self.num_attributes))

    def _attribute_bce(self, h, items, positions, head):
        """Summed multi-label BCE of attributes 1..V-1 at ``positions``.

        ``h`` ``(B, n, dim)``, ``items`` ``(B, n)`` original ids, ``positions`` bool (B, n).
        With logits z over attributes: ``sum_v softplus(z_v) - sum_{v in attrs(item)} z_v``
        (= BCE of sigma(z) against the multi-hot labels), computed on the selected positions
        only and without materialising the labels.
        """
        hp = head(tf.boolean_mask(h, positions))  # (P, dim)
        z = tf.matmul(hp, self.attribute_embeddings()[1:], transpose_b=True)  # (P, V - 1)
        attrs = tf.gather(self._attributes, tf.boolean_mask(items, positions))  # (P, A)
        z_true = tf.gather(tf.pad(z, [[0, 0], [1, 0]]), attrs, batch_dims=1)  # 0 for id 0
        return tf.reduce_sum(tf.nn.softplus(z)) - tf.reduce_sum(z_true)

    def pretrain_losses(self, features, training=True, mask=None, segment_uniform=None):
        """The four unweighted objectives ``{"aap", "mip", "map", "sp"}``, each summed over
        the batch and divided by B.

        Args:
          features: ``{"history": (B, n), "target": (B,) optional}``.
          mask: optional boolean ``(B, n)`` MIP/MAP mask (drawn with ``mask_prob`` if None).
          segment_uniform: optional ``(B, 3)`` draws for :func:`segment_prediction_inputs`.
        """
        seq = tf.cast(features["history"], tf.int32)
        n = tf.shape(seq)[1]
        if "target" in features:
            seq = tf.concat([seq, tf.cast(features["target"], tf.int32)[:, None]], 1)[:, -n:]
        batch = tf.cast(tf.shape(seq)[0], tf.float32)
        real = seq > 0
        mask_id = self.user_tower.mask_id
        if mask is None:
            mask = tf.random.uniform(tf.shape(seq)) < self.mask_prob
        mask = tf.cast(mask, tf.bool) & real
        masked = tf.where(mask, tf.fill(tf.shape(seq), mask_id), seq)
        h = self.user_tower.sequence_outputs(masked, causal=False, training=training)

        aap = self._attribute_bce(h, seq, real & ~mask, self.aap_head)
        map_ = self._attribute_bce(h, seq, mask, self.map_head)

        # MIP: negatives uniform over 1..M, redrawn once where they hit the sequence.
        def draw():
            return tf.random.uniform(tf.shape(seq), 1, self.num_items + 1, dtype=tf.int32)

        neg = draw()
        hit = tf.reduce_any(tf.equal(neg[:, :, None], seq[:, None, :]), -1)
        neg = tf.where(hit, draw(), neg)
        hm = self.mip_head(h)
        f_pos = tf.sigmoid(tf.reduce_sum(hm * self.item_tower(seq), -1))
        f_neg = tf.sigmoid(tf.reduce_sum(hm * self.item_tower(neg), -1))
        mip_terms = -tf.math.log_sigmoid(f_pos - f_neg)
        mip = tf.reduce_sum(mip_terms * tf.cast(mask, mip_terms.dtype))

        # SP: one encoder pass over the three sequences stacked.
        seg_masked, seg_pos, seg_neg, valid = segment_prediction_inputs(seq, mask_id,
                                                                        segment_uniform)
        out = self.user_tower.sequence_outputs(tf.concat([seg_masked, seg_pos, seg_neg], 0),
                                               causal=False, training=training)[:, -1, :]
        context, e_pos, e_neg = tf.split(out, 3, axis=0)
        c = self.sp_head(context)
        s_pos = tf.sigmoid(tf.reduce_sum(c * e_pos, -1))
        s_neg = tf.sigmoid(tf.reduce_sum(c * e_neg, -1))
        sp_terms = -tf.math.log_sigmoid(s_pos - s_neg)
        sp = tf.reduce_sum(sp_terms * tf.cast(valid, sp_terms.dtype))
        return {"aap": aap / batch, "mip": mip / batch, "map": map_ / batch, "sp": sp / batch}

    def pretrain_loss(self, features, training=True):
        """Weighted sum of the four objectives for a batch ``{"history", "target"}``."""
        losses = self.pretrain_losses(features, training=training)
        return tf.add_n([self.weights_by_objective[k] * losses[k] for k in OBJECTIVES])

    def pretraining_layers(self):
        """Layers only pre-training uses."""
        layers = list(self.heads.values()) + [self.user_tower.mask_token]
        layers.append(self.attribute_adapter if self.attribute_adapter is not None
                      else self.attribute_table)
        return layers

    def finish_pretraining(self):
        """Freezes the pre-training-only layers; fine-tuning then trains encoder + items."""
        for layer in self.pretraining_layers():
            layer.trainable = False
        self.pretraining_finished = True


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` of MIRACLE's Table 2 S3-Rec row (UniSRec's ``props/S3Rec.yaml``)."""
    return ml_collections.ConfigDict(dict(
        name="s3rec", embedding_dim=300, attributes="auto", num_layers=2, num_heads=2,
        inner_size=256, dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12,
        block="post_ln", mask_prob=0.2, aap_weight=1.0, mip_weight=0.2, map_weight=1.0,
        sp_weight=0.5))


def build_model(config, info) -> S3RecModel:
    """S3-Rec for ``info`` from ``config.model`` (fields of :func:`default_model_config`) and
    ``config.loss`` (fine-tuning objective). Without ``config.pretrain.enabled`` the
    pre-training-only layers are frozen from the start (S3-Rec without pre-training)."""
    d = default_model_config()
    cfg = config.model

    def get(k):
        return cfg.get(k, d[k])

    kind, values = item_features(info, get("attributes"))
    if kind == "text":  # each item's attribute is itself, embedded from its text vector
        attributes = np.arange(info.num_items + 1, dtype=np.int32)[:, None]
        extra = dict(attribute_vectors=values)
    else:
        attributes, extra = values, {}
    item_tower = ItemTower(info.num_items, get("embedding_dim"), name="item_tower")
    tower = S3RecTower(item_tower, info.max_len, num_layers=get("num_layers"),
                       num_heads=get("num_heads"), inner_size=get("inner_size"),
                       dropout=get("dropout"), attention_dropout=get("attention_dropout"),
                       activation=get("activation"), epsilon=get("epsilon"),
                       block=get("block"), name="s3rec")
    loss = LossConfig(**dict(config.loss)) if "loss" in config else None
    model = S3RecModel(item_tower, tower, attributes, mask_prob=get("mask_prob"),
                       aap_weight=get("aap_weight"), mip_weight=get("mip_weight"),
                       map_weight=get("map_weight"), sp_weight=get("sp_weight"),
                       loss=loss, item_popularity=info.item_popularity, **extra)
    pretrain = config.get("pretrain", None)
    if not (pretrain and pretrain.get("enabled", False)):
        model.finish_pretraining()  # no pre-training stage: its layers are never trained
    return model
