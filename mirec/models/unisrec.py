"""UniSRec: universal sequence representations from item text (Hou et al., KDD 2022).

Yupeng Hou, Shanlei Mu, Wayne Xin Zhao, Yaliang Li, Bolin Ding and Ji-Rong Wen, "Towards
Universal Sequence Representation Learning for Recommender Systems", KDD 2022
(arXiv:2206.05941). Official code RUCAIBox/UniSRec (PyTorch on RecBole). A baseline of
MIRACLE's Table 2 (Tang et al., SIGIR 2023); MIRACLE's text/MoE stack is this one.

Model (paper Sec. 3; equation numbers of the arXiv version):

* Item tower (:class:`UniSRecItemTower`), Eq. 1-4: a frozen text vector ``t_i`` (BERT [CLS]
  of "title categories brand", ``DatasetInfo.item_text_features``) goes through the
  MoE-enhanced adaptor (:class:`mirec.layers.moe.MoEAdaptor`): G = 8 parametric-whitening
  experts ``(t - b_k) W_k`` (Eq. 1-2) mixed by a softmax gate with learned Gaussian noise in
  training (Eq. 3-4), d = 300. In the *transductive* fine-tuning mode an item-ID embedding is
  added, ``x_i + e_i`` (Eq. 12), on the history and the candidate side; *inductive* = text
  only. Pre-training is always text only.
* Sequence encoder (:class:`UniSRecEncoder`), Eq. 5-6: ``f_j^0 = x_{i_j} + p_j``, then
  LayerNorm + dropout (official), then L = 2 post-LayerNorm Transformer layers (2 heads, FFN
  256, GELU, LayerNorm eps 1e-12, dropout 0.5 on hidden states and attention weights, N(0,
  0.02) initialisation: the official ``props/UniSRec.yaml``) with causal attention (RecBole's
  SASRec, which UniSRec subclasses); the sequence representation ``s`` is the output at the
  last position, L2-normalised.
* Pre-training (:meth:`UniSRecModel.pretrain_loss`), Eq. 7-9: sequence-item contrast
  ``l_SI`` (the in-batch targets are the negatives) + ``lambda`` sequence-sequence contrast
  ``l_SS`` (each sequence against an augmented copy, the other rows' copies as negatives),
  cosine similarities over temperature ``tau = 0.07``, ``lambda = 1e-3``. Augmentation, per
  batch (official ``PLMEmb``): with probability 0.9 *item drop* (each item removed with
  probability 0.2, the oldest kept), otherwise *word drop* (each position's text vector
  replaced with probability 0.2 by the vector of its text with words dropped, UniSRec's
  ``.feat2CLS`` = ``encode-text --word_drop 0.15``). Without such a table
  (:meth:`UniSRecModel.set_augmented_text_features`) every batch uses item drop.
* Fine-tuning (:meth:`UniSRecModel.compute_loss`), Eq. 10-12: full softmax over all items of
  ``cos(s, x_i) / tau``. Parameter-efficient fine-tuning (:meth:`~UniSRecModel.
  finish_pretraining`, called by :mod:`mirec.pretrain` after pre-training): the sequence
  encoder is frozen and only the MoE adaptor (+ the ID table, transductive) is fine-tuned.
  ``finetune_freeze``: ``"official"`` (``finetune.py`` ``fix_enc``: the position table and
  the Transformer layers; the encoder's input LayerNorm stays trainable), ``"paper"`` (the
  whole encoder incl. that LayerNorm, so exactly "only the adaptor"), ``"none"``. Without
  pre-training (``no_pretrain``) nothing is frozen ("UniSRec from scratch" of the README).

Retrieval: user vectors ``s`` and item vectors (:meth:`UniSRecModel.item_embeddings`) are
L2-normalised, so the inner-product index ranks by cosine, as ``full_sort_predict``.

Differences from the official code, and switches:

* ``contrastive``: ``"official"`` (default): in-batch pairs whose targets are equal (false
  negatives) get logit 0 rather than being removed (``torch.where(same_pos_id, 0, ...)``
  inside ``exp``, so each adds ``exp(0) = 1`` to the denominator); ``"paper"``: plain InfoNCE
  of Eq. 7-8 (no such treatment); ``"masked"``: those pairs excluded.
* ``item_lookup``: ``"table"`` (default) runs the adaptor once per step over the whole text
  table and gathers the history and candidate vectors from it, so adaptor dropout and gate
  noise are drawn once per item and step (the official code draws them per occurrence;
  identical in evaluation). ``"occurrence"``: per occurrence as the official code (cheaper
  when the table is much larger than a batch, e.g. multi-domain pre-training).
* Positions count from the oldest item of the (last ``max_len``) history, as RecBole's
  right-padded absolute positions; our inputs are left-padded.
* The fine-tuning softmax covers items 1..M; the official one also includes padding row 0.
* mirec's :class:`MoEAdaptor` has a zero-initialised gate bias (the official gate has none)
  and a gate-noise scale ``softplus(t W_n)`` without the official ``+ 0.01`` floor.

Public API: :class:`UniSRecItemTower`, :class:`UniSRecEncoder`,
:class:`PostLNBlock`, :class:`UniSRecModel`, :func:`contrastive_loss`, :func:`item_drop`,
:func:`build_model`, :func:`default_model_config`.
"""

from __future__ import annotations

import ml_collections
import numpy as np

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.miracle import MiracleTransformerLayer
from mirec.layers.moe import MoEAdaptor
from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.models.sasrec import causal_padding_mask
from mirec.towers.user import SequenceUserTower

MODES = ("transductive", "inductive")
CONTRASTIVE = ("official", "paper", "masked")
FREEZE = ("official", "paper", "none")
LOOKUPS = ("table", "occurrence")


def _normal(std):
    return tf.keras.initializers.RandomNormal(0.0, std)


def l2_normalize(x):
    return tf.math.l2_normalize(x, axis=-1, epsilon=1e-12)


class UniSRecItemTower(tf.keras.layers.Layer):
    """Item ids -> ``MoE(t_i)`` (+ ``e_i`` in the transductive mode), ``(..., d)``; Eq. 1-4, 12.

    Mirrors :class:`mirec.towers.ItemTower` (``num_items``, ``embedding_dim``,
    ``__call__(ids)``, ``all_items()``) plus :meth:`set_item_text_features`.

    Args:
      text_features: ``(M + 1, F)`` float table, row 0 = padding. It is data: kept as a
        constant (out of checkpoints), swappable for pre-training on other datasets; traced
        functions keep the table they saw, so trace anew after a swap.
      embedding_dim: d (300).
      num_experts, adaptor_dropout, noisy_gating: the :class:`MoEAdaptor`'s (8, 0.2, True:
        ``adaptor_dropout_prob`` and the learned gate noise of the official code).
      use_id_embedding: add an ID table ``(M + 1, d)``, N(0, initializer_range) (transductive).

    ``call(ids, training=None, use_id=None)``: ``use_id=False`` gives the text-only vectors
    (pre-training); None = ``use_id_embedding``.

    Example:
      >>> tower = UniSRecItemTower(np.ones((4, 6), np.float32), embedding_dim=8)
      >>> tower(tf.constant([[1, 2, 0]])).shape
      TensorShape([1, 3, 8])
    """

    def __init__(self, text_features=None, embedding_dim=300, num_experts=8, adaptor_dropout=0.2,
                 noisy_gating=True, use_id_embedding=False, initializer_range=0.02,
                 num_items=None, feature_dim=None, **kwargs):
        super().__init__(**kwargs)
        if text_features is None:  # from_config: a zero table of the recorded shape
            text_features = np.zeros((int(num_items) + 1, int(feature_dim)), np.float32)
        table = np.asarray(text_features, np.float32)
        if table.ndim != 2 or len(table) < 2:
            raise ValueError(f"text_features must be (M + 1, F), got shape {table.shape}")
        self.num_items = int(len(table) - 1)
        self.feature_dim = int(table.shape[1])
        self._id_rows = len(table)
        self.embedding_dim = int(embedding_dim)
        self.use_id_embedding = bool(use_id_embedding)
        self.initializer_range = float(initializer_range)
        self._text = tf.constant(table)
        self._text_aug = None
        self.adaptor = MoEAdaptor(self.embedding_dim, num_experts=num_experts,
                                  dropout=adaptor_dropout, noisy_gating=noisy_gating,
                                  name="moe_adaptor")

    def build(self, input_shape=None):
        self.adaptor.build((None, self.feature_dim))
        if self.use_id_embedding:
            self.id_embeddings = self.add_weight(
                name="item_id_embedding", shape=(self._id_rows, self.embedding_dim),
                initializer=_normal(self.initializer_range))
        super().build(input_shape)

    @property
    def text_table(self):
        return self._text

    @property
    def augmented_text_table(self):
        """The word-dropped text table (same rows) or None."""
        return self._text_aug

    def set_item_text_features(self, table):
        """Swaps the text table (same F). With an ID table, a table of another row count may
        only be used text-only (``use_id=False``, pre-training); the augmented table is
        dropped unless it still matches."""
        table = np.asarray(table, np.float32)
        if table.ndim != 2 or table.shape[1] != self.feature_dim:
            raise ValueError(f"text table must be (rows, {self.feature_dim}), got {table.shape}")
        self._text = tf.constant(table)
        self.num_items = int(len(table) - 1)
        if self._text_aug is not None and self._text_aug.shape[0] != len(table):
            self._text_aug = None

    def set_augmented_text_features(self, table):
        """The word-drop table (UniSRec ``.feat2CLS``), same shape as the text table."""
        if table is None:
            self._text_aug = None
            return
        table = np.asarray(table, np.float32)
        if table.shape != tuple(self._text.shape):
            raise ValueError(f"augmented text table must have shape {tuple(self._text.shape)}, "
                             f"got {table.shape}")
        self._text_aug = tf.constant(table)

    def embed_text(self, t, ids=None, training=None, use_id=None):
        """``MoE(t)`` (+ ``e_ids``) for text vectors ``t`` ``(..., F)``."""
        if not self.built:
            self.build()
        x = self.adaptor(t, training=training)
        use_id = self.use_id_embedding if use_id is None else bool(use_id)
        if use_id and self.use_id_embedding:
            if ids is None:
                raise ValueError("ID embeddings need the ids")
            x = x + tf.gather(self.id_embeddings, tf.cast(ids, tf.int32))
        return x

    def call(self, ids, training=None, use_id=None):
        ids = tf.cast(ids, tf.int32)
        return self.embed_text(tf.gather(self._text, ids), ids, training=training, use_id=use_id)

    def all_items(self, training=False, use_id=None, augmented=False):
        """Vectors of ids 0..M, ``(M + 1, d)``; row 0 is padding. ``augmented=True`` encodes
        the word-drop table instead."""
        table = self._text_aug if augmented else self._text
        ids = tf.range(tf.shape(table)[0])
        return self.embed_text(table, ids, training=training, use_id=use_id)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(embedding_dim=self.embedding_dim, num_items=self.num_items,
                   feature_dim=self.feature_dim, num_experts=self.adaptor.num_experts,
                   adaptor_dropout=self.adaptor.dropout,
                   noisy_gating=self.adaptor.noisy_gating,
                   use_id_embedding=self.use_id_embedding,
                   initializer_range=self.initializer_range)
        return cfg


class PostLNBlock(MiracleTransformerLayer):
    """One post-LayerNorm Transformer layer (RecBole ``TransformerLayer``), Eq. 5:

    ``x = LN(x + Dropout(MHA(x, x, mask)))``, ``x = LN(x + Dropout(W_2 gelu(W_1 x + b_1) + b_2))``
    with exact (erf) GELU and dropout on the attention weights: MIRACLE's layer (the same
    RecBole layer) with UniSRec's default dropout of 0.5.

    Input ``(B, n, dim)`` and a boolean ``attention_mask`` ``(B, n, n)``; output ``(B, n, dim)``.
    """

    def __init__(self, dim, num_heads=2, inner_dim=256, dropout=0.5, attention_dropout=0.5,
                 *args, **kwargs):
        super().__init__(dim, num_heads, inner_dim, dropout, attention_dropout, *args, **kwargs)


def oldest_first_positions(mask):
    """``(B, n)`` position of each real item counted from the oldest one (0, 1, ...);
    padding gets 0. With left padding this equals RecBole's absolute positions."""
    m = tf.cast(mask, tf.int32)
    return tf.maximum(tf.cumsum(m, axis=1) - 1, 0)


class UniSRecEncoder(SequenceUserTower):
    """History -> ``(B, 1, d)`` L2-normalised sequence representation ``s`` (Eq. 5-6).

    ``f^0 = Dropout(LN(x + p))``; ``f^L = Transformer^L(f^0)`` (causal; padded keys masked);
    ``s = f^L`` at the last (most recent) position.

    Args:
      item_tower: :class:`UniSRecItemTower`.
      max_len: n (size of the position table).
      num_layers, num_heads, inner_dim, dropout, attention_dropout, epsilon,
        initializer_range: the Transformer's (official 2, 2, 256, 0.5, 0.5, 1e-12, 0.02).
      item_lookup: ``"table"`` | ``"occurrence"`` (module docstring).

    Sub-layers frozen at fine-tuning: ``positions``, ``input_norm``, ``blocks``.
    """

    def __init__(self, item_tower, max_len, num_layers=2, num_heads=2, inner_dim=256,
                 dropout=0.5, attention_dropout=0.5, epsilon=1e-12, initializer_range=0.02,
                 item_lookup="table", **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if item_lookup not in LOOKUPS:
            raise ValueError(f"item_lookup must be one of {LOOKUPS}, got {item_lookup!r}")
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.inner_dim = int(inner_dim)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.epsilon = float(epsilon)
        self.initializer_range = float(initializer_range)
        self.item_lookup = item_lookup
        self.positions = tf.keras.layers.Embedding(
            self.max_len, self.dim, embeddings_initializer=_normal(self.initializer_range),
            name="positions")
        self.input_norm = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                             name="input_norm")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        self.blocks = [PostLNBlock(self.dim, self.num_heads, self.inner_dim, self.dropout_rate,
                                   self.attention_dropout, self.epsilon, self.initializer_range,
                                   name=f"layer_{i}") for i in range(self.num_layers)]

    def embed_history(self, ids, training=None, use_id=None, item_table=None):
        """``(B, n, d)`` item vectors of ``ids``: gathered from ``item_table`` (or, in
        ``"table"`` mode, from a fresh ``all_items`` pass) or computed per occurrence."""
        ids = tf.cast(ids, tf.int32)
        if item_table is None and self.item_lookup == "table":
            item_table = self.item_tower.all_items(training=training, use_id=use_id)
        if item_table is not None:
            return tf.gather(item_table, ids)
        return self.item_tower(ids, training=training, use_id=use_id)

    def sequence_vector(self, emb, mask, training=None):
        """``(B, d)`` L2-normalised ``s`` from item vectors ``(B, n, d)`` and mask ``(B, n)``."""
        mask = tf.cast(mask, tf.bool)
        x = emb + self.positions(oldest_first_positions(mask))
        x = self.dropout(self.input_norm(x), training=training)
        att = causal_padding_mask(mask)
        for block in self.blocks:
            x = block(x, attention_mask=att, training=training)
        return l2_normalize(x[:, -1, :])

    def call(self, features, training=None):
        ids = tf.cast(features["history"], tf.int32)
        emb = self.embed_history(ids, training=training)
        return self.sequence_vector(emb, ids > 0, training=training)[:, None, :]

    def encode(self, emb, mask, features, training):
        return self.sequence_vector(emb, mask, training=training)[:, None, :]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(max_len=self.max_len, num_layers=self.num_layers, num_heads=self.num_heads,
                   inner_dim=self.inner_dim, dropout=self.dropout_rate,
                   attention_dropout=self.attention_dropout, epsilon=self.epsilon,
                   initializer_range=self.initializer_range, item_lookup=self.item_lookup)
        return cfg


def contrastive_loss(anchors, positives, same_target=None, temperature=0.07,
                     variant="official"):
    """In-batch contrast of Eq. 7 (``positives`` = target items) and Eq. 8 (augmented views).

    ``logit_ij = a_i . p_j / tau`` (inputs L2-normalised, ``(B, d)`` each);
    ``loss = mean_i [logsumexp_j logit_ij - logit_ii]``. ``same_target`` ``(B, B)`` bool marks
    off-diagonal pairs with equal targets: ``"official"`` sets their logit to 0 (they still
    add ``exp(0)`` to the denominator), ``"masked"`` removes them, ``"paper"`` ignores it.
    """
    if variant not in CONTRASTIVE:
        raise ValueError(f"contrastive variant must be one of {CONTRASTIVE}, got {variant!r}")
    logits = tf.matmul(anchors, positives, transpose_b=True) / temperature
    if same_target is not None and variant != "paper":
        fill = 0.0 if variant == "official" else -1e9
        logits = tf.where(same_target, tf.cast(fill, logits.dtype), logits)
    b = tf.shape(logits)[0]
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.range(b), logits))


def item_drop(ids, ratio, seed=None):
    """UniSRec's item-drop augmentation on left-padded ids ``(B, n)``.

    Each real item is kept with probability ``1 - ratio`` (the oldest always, so no sequence
    becomes empty); the kept items are moved to the right end in their order, left-padded
    with 0 (the official code compacts to the left, its sequences being right-padded).
    """
    ids = tf.cast(ids, tf.int32)
    real = ids > 0
    oldest = real & tf.equal(tf.cumsum(tf.cast(real, tf.int32), axis=1), 1)
    keep = (real & (tf.random.uniform(tf.shape(ids), seed=seed) >= ratio)) | oldest
    order = tf.argsort(tf.cast(keep, tf.int32), axis=1, stable=True)  # dropped first
    return tf.gather(tf.where(keep, ids, 0), order, batch_dims=1)


class UniSRecModel(MultiInterestModel):
    """UniSRec with :meth:`pretrain_loss`, :meth:`finish_pretraining` and the fine-tuning
    objective of Eq. 10-12 (full softmax over cosine / tau).

    Args:
      item_tower: :class:`UniSRecItemTower`; user_tower: :class:`UniSRecEncoder`.
      temperature: tau (0.07) of the pre-training contrasts and the fine-tuning softmax.
      lam: weight lambda of ``l_SS`` (official ``lambda: 1e-3``).
      item_drop_ratio: per-item (and per-position for word drop) replacement probability
        (0.2); item_drop_prob: probability of item drop vs word drop per batch (0.9).
      contrastive: ``"official"`` | ``"paper"`` | ``"masked"`` (:func:`contrastive_loss`).
      finetune_freeze: ``"official"`` | ``"paper"`` | ``"none"`` (module docstring).
    """

    def __init__(self, item_tower, user_tower, temperature=0.07, lam=1e-3, item_drop_ratio=0.2,
                 item_drop_prob=0.9, contrastive="official", finetune_freeze="official",
                 **kwargs):
        super().__init__(item_tower, user_tower,
                         LossConfig(kind="full_softmax", readout="single",
                                    temperature=temperature), **kwargs)
        if contrastive not in CONTRASTIVE:
            raise ValueError(f"contrastive must be one of {CONTRASTIVE}, got {contrastive!r}")
        if finetune_freeze not in FREEZE:
            raise ValueError(f"finetune_freeze must be one of {FREEZE}, got {finetune_freeze!r}")
        self.temperature = float(temperature)
        self.lam = float(lam)
        self.item_drop_ratio = float(item_drop_ratio)
        self.item_drop_prob = float(item_drop_prob)
        self.contrastive = contrastive
        self.finetune_freeze = finetune_freeze
        self.pretraining_finished = False

    def item_embeddings(self):
        """``(M + 1, d)`` L2-normalised item vectors (row 0 padding), evaluation mode."""
        return l2_normalize(self.item_tower.all_items(training=False))

    def compute_loss(self, features, training=False):
        """Eq. 10-12: ``CE(softmax_i(cos(s, x_i) / tau), target)`` over items 1..M."""
        enc = self.user_tower
        ids = tf.cast(features["history"], tf.int32)
        items = self.item_tower.all_items(training=training)
        table = items if enc.item_lookup == "table" else None
        s = enc.sequence_vector(enc.embed_history(ids, training=training, item_table=table),
                                ids > 0, training=training)
        logits = tf.matmul(s, l2_normalize(items[1:]), transpose_b=True) / self.temperature
        targets = tf.cast(features["target"], tf.int32)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets - 1,
                                                                             logits))

    def _augment(self, ids, items, training):
        """``(ids_aug, emb_aug)``: item drop with probability ``item_drop_prob`` per batch,
        else word drop (needs the augmented table; without it, always item drop)."""
        enc, tower = self.user_tower, self.item_tower
        dropped = item_drop(ids, self.item_drop_ratio)

        def by_item_drop():
            return dropped, enc.embed_history(dropped, training=training, use_id=False,
                                              item_table=items)

        if tower.augmented_text_table is None:
            return by_item_drop()

        def by_word_drop():
            keep = tf.random.uniform(tf.shape(ids)) >= self.item_drop_ratio
            if items is not None:
                aug = tower.all_items(training=training, use_id=False, augmented=True)
                emb_aug = tf.gather(aug, ids)
            else:
                emb_aug = tower.embed_text(tf.gather(tower.augmented_text_table, ids),
                                           training=training, use_id=False)
            emb = enc.embed_history(ids, training=training, use_id=False, item_table=items)
            return ids, tf.where(keep[..., None], emb, emb_aug)

        return tf.cond(tf.random.uniform(()) < self.item_drop_prob, by_item_drop, by_word_drop)

    def pretrain_losses(self, features, training=True):
        """``{"total", "seq_item", "seq_seq"}``: Eq. 9 ``l_SI + lambda l_SS`` (text only)."""
        enc, tower = self.user_tower, self.item_tower
        ids = tf.cast(features["history"], tf.int32)
        targets = tf.cast(features["target"], tf.int32)
        items = (tower.all_items(training=training, use_id=False)
                 if enc.item_lookup == "table" else None)
        emb = enc.embed_history(ids, training=training, use_id=False, item_table=items)
        s = enc.sequence_vector(emb, ids > 0, training=training)
        if items is not None:
            v = tf.gather(items, targets)
        else:
            v = tower(targets, training=training, use_id=False)
        v = l2_normalize(v)
        b = tf.shape(targets)[0]
        same = tf.equal(targets[:, None], targets[None, :]) & ~tf.eye(b, dtype=tf.bool)
        seq_item = contrastive_loss(s, v, same, self.temperature, self.contrastive)
        ids_aug, emb_aug = self._augment(ids, items, training)
        s_aug = enc.sequence_vector(emb_aug, ids_aug > 0, training=training)
        seq_seq = contrastive_loss(s, s_aug, same, self.temperature, self.contrastive)
        return {"total": seq_item + self.lam * seq_seq, "seq_item": seq_item,
                "seq_seq": seq_seq}

    def pretrain_loss(self, features, training=True):
        """Eq. 9: ``l_SI + lambda l_SS`` (scalar), on {"history": (B, n), "target": (B,)}."""
        return self.pretrain_losses(features, training=training)["total"]

    def set_item_text_features(self, table):
        """Swaps the item text table (pre-training on other datasets, :mod:`mirec.pretrain`)."""
        self.item_tower.set_item_text_features(table)

    def set_augmented_text_features(self, table):
        """Word-drop text vectors aligned with the current table (``encode-text --word_drop``)."""
        self.item_tower.set_augmented_text_features(table)

    def prepare_pretraining(self, config, prepared, data_dir=None):
        """Loads ``config.pretrain.text_features_aug`` (word-drop features of the prepared
        dataset) into the item tower; a no-op when unset."""
        path = config.get("pretrain", {}).get("text_features_aug", "") if config else ""
        if path:
            from mirec.data.text import load_item_text_features

            self.set_augmented_text_features(
                load_item_text_features(path, prepared.sequences.item_ids, data_dir=data_dir))

    def trainable_after_freeze(self):
        """The layers :meth:`finish_pretraining` freezes (for inspection and tests)."""
        enc = self.user_tower
        layers = [enc.positions] + list(enc.blocks)
        if self.finetune_freeze == "paper":
            layers.append(enc.input_norm)
        return [] if self.finetune_freeze == "none" else layers

    def finish_pretraining(self):
        """Parameter-efficient fine-tuning (Sec. 3.3.2): freezes the sequence encoder.

        Keras 2 ``fit`` resets every layer's ``trainable`` to its value at ``compile()``
        (``RespectCompiledTrainableState``), and :func:`mirec.train.train_and_evaluate`
        compiles before pre-training; so a compiled model's recorded state is refreshed here
        (and its cached train function dropped), else fine-tuning would train the frozen
        layers.
        """
        for layer in self.trainable_after_freeze():
            layer.trainable = False
        if getattr(self, "_compiled_trainable_state", None) is not None:
            self._record_trainable_state()
        self.pretraining_finished = True

    @tf.__internal__.tracking.no_automatic_dependency_tracking
    def _record_trainable_state(self):
        self._compiled_trainable_state = self._get_trainable_state()
        self.train_function = None


def default_model_config(mode: str = "transductive") -> ml_collections.ConfigDict:
    """``config.model`` of UniSRec (paper + official ``props/UniSRec.yaml``)."""
    return ml_collections.ConfigDict(dict(
        name="unisrec", mode=mode, embedding_dim=300, num_experts=8, adaptor_dropout=0.2,
        noisy_gating=True, num_layers=2, num_heads=2, inner_dim=256, dropout=0.5,
        attention_dropout=0.5, layer_norm_epsilon=1e-12, initializer_range=0.02,
        temperature=0.07, lam=1e-3, item_drop_ratio=0.2, item_drop_prob=0.9,
        contrastive="official", finetune_freeze="official", item_lookup="table"))


def build_model(config, info) -> UniSRecModel:
    """UniSRec for ``info`` (needs ``info.item_text_features``) from ``config.model``
    (fields of :func:`default_model_config`; ``config.loss`` is not used: the objective is
    always Eq. 10-12)."""
    if info.item_text_features is None:
        raise ValueError("UniSRec needs item text features: set config.dataset.text_features "
                         "to a file written by `python -m mirec.data encode-text`")
    m = config.model
    d = default_model_config(m.get("mode", "transductive"))
    get = lambda k: m.get(k, d[k])  # noqa: E731
    mode = get("mode")
    if mode not in MODES:
        raise ValueError(f"config.model.mode must be one of {MODES}, got {mode!r}")
    item_tower = UniSRecItemTower(
        info.item_text_features, get("embedding_dim"), num_experts=get("num_experts"),
        adaptor_dropout=get("adaptor_dropout"), noisy_gating=get("noisy_gating"),
        use_id_embedding=mode == "transductive", initializer_range=get("initializer_range"),
        name="item_tower")
    encoder = UniSRecEncoder(
        item_tower, info.max_len, num_layers=get("num_layers"), num_heads=get("num_heads"),
        inner_dim=get("inner_dim"), dropout=get("dropout"),
        attention_dropout=get("attention_dropout"), epsilon=get("layer_norm_epsilon"),
        initializer_range=get("initializer_range"), item_lookup=get("item_lookup"),
        name="unisrec")
    return UniSRecModel(item_tower, encoder, temperature=get("temperature"), lam=get("lam"),
                        item_drop_ratio=get("item_drop_ratio"),
                        item_drop_prob=get("item_drop_prob"), contrastive=get("contrastive"),
                        finetune_freeze=get("finetune_freeze"))


__all__ = ["UniSRecItemTower", "UniSRecEncoder", "PostLNBlock", "UniSRecModel",
           "contrastive_loss", "item_drop", "oldest_first_positions", "build_model",
           "default_model_config", "MODES"]
