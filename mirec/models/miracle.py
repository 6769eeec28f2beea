"""MIRACLE: multi-interest pre-training with a sparse capsule network (Tang et al., SIGIR 2023).

Zuoli Tang, Lin Wang, Lixin Zou, Xiaolu Zhang, Jun Zhou and Chenliang Li, "Towards
Multi-Interest Pre-training with Sparse Capsule Network", SIGIR 2023. Official code
WHUIR/Miracle (PyTorch). Layers: :mod:`mirec.layers.miracle` and :mod:`mirec.layers.moe`.

Model:

* Item tower (:class:`TextItemTower`): ``x_i = MoE(t_i)`` (Eq. 2-4) from a frozen text vector
  ``t_i`` (``DatasetInfo.item_text_features``); in the transductive mode
  (``mode="transductive"``, Eq. 23-24) an item-ID embedding ``e_i`` is added,
  ``x_i + e_i``, on both the history and the candidate side, but only from fine-tuning on
  (pre-training is text only). ``mode="inductive"`` (Figure 3) never uses IDs.
* User tower (:class:`MiracleUserTower`): contextual encoder (Eq. 5-6), sparse capsule
  activation (Eq. 7-8), position attention (Eq. 9) and routing (Eq. 10-14). It returns
  ``(B, C, d)``: the activated interests, and in every non-activated slot a copy of the
  user's most-activated interest (:func:`mirec.layers.miracle.fill_inactive`), so the max
  over the C dot products equals Eq. 17's max over the activated interests; mirec's
  retrieval index and evaluation (max over K) are therefore exact.
* Fine-tuning loss (:meth:`MiracleModel.compute_loss`, Eq. 23-24): full softmax over all
  items 1..M with score ``max_{j in I_u} u_j . x_v`` + theta4 balance + theta5 base-vector
  contrast.
* Pre-training loss (:meth:`MiracleModel.pretrain_loss`, Eq. 15-22): in-batch next-item
  softmax (the other rows' targets are the negatives, duplicates kept as in Eq. 16 and the
  official code) + theta1 balance + theta2 base-vector contrast + theta3 interest-level
  contrast between the original and a masked copy of each sequence.
* :meth:`MiracleModel.finish_pretraining` (called by :mod:`mirec.pretrain`): freezes the
  positional table and the Transformer layers (Eq. 23-24: "freeze the sequence encoder";
  ``variant="paper"`` also freezes the encoder's input LayerNorm, the official code keeps it
  trainable) and switches the transductive ID embeddings on. Zero-shot (Figure 4) =
  pre-train, then evaluate without fine-tuning (``config.train.epochs = 0``).

Loss weights (``config.model.loss_weights``): the paper gives no theta; we use the official
code's ``balance_alpha = 10`` (theta1, theta4), ``aspect_alpha = 0.01`` (theta2, theta5) and
``seq_cons_alpha = 0.001`` (theta3). Note that the paper's balance term carries a factor C
(Eq. 21) that the official one lacks, so with the same theta the paper variant's balance
pull is C = 32 times the official one's (``loss_weights.balance = 10 / 32`` matches the
official strength on the history items).

Implementation notes: the MoE adaptor runs once per distinct item of a batch
(:meth:`TextItemTower.text_embeddings`; repeated items share a dropout draw); fine-tuning
embeds the history with rows of the same all-items table as the candidates.
:meth:`MiracleModel.finish_pretraining` refreshes Keras' compile-time ``trainable`` record
of an already compiled model (``fit`` restores that record; :mod:`mirec.train` also
compiles again after pre-training).

``variant="official"`` (WHUIR/Miracle) switches, besides the layer variants of
:mod:`mirec.layers.miracle` (noise form, LeakyReLU position attention, ``q``-agreement):

* balance loss without the factor C, over the sequence items AND the candidate items (the
  batch targets in pre-training, every item at fine-tuning); the paper: ``C w^T r`` over the
  sequence items (Eq. 19-21). Both use ``w`` = mean softmax of the (noisy) scores ``s`` and
  ``r`` = the fraction of items whose argmax is each capsule;
* masking for the interest contrast: never the last position, no masking in sequences
  shorter than 5 items, and the [MASK] vector is never trained (it stays at its N(0, 0.02)
  initialisation); the paper masks every real item with probability 0.2 and learns [MASK];
* noisy MoE gating (learned noise scale) in training.

Both variants use the official code's unstated hyper-parameters: Transformer 2 heads, FFN
256, dropout 0.3 (Transformer, MoE input, Eq. 10), base-vector contrast temperature 0.1
(Eq. 18 as printed takes ``-log`` of raw cosine ratios, which is undefined for negative
cosines; the code's InfoNCE form ``CE(cos(a_j, a_j') / 0.1, j)`` is used), interest
contrast without temperature (Eq. 15), N(0, 0.02) initialisation of positions, base vectors,
[MASK] and ID embeddings.
"""

from __future__ import annotations

import ml_collections
import numpy as np

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.miracle import (VARIANTS, ContextualEncoder, InterestRouting,
                                  PositionAttention, SparseCapsuleActivation, activation_counts,
                                  compact_interests, fill_inactive)
from mirec.layers.moe import MoEAdaptor
from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig, retrieval_loss
from mirec.towers.user import SequenceUserTower

MODES = ("transductive", "inductive")
DEFAULT_LOSS_WEIGHTS = {"balance": 10.0, "base": 0.01, "interest": 0.001}


class TextItemTower(tf.keras.layers.Layer):
    """Item tower over frozen text features: ``x_i = MoE(t_i)`` (+ ``e_i`` if transductive).

    Offers :class:`mirec.towers.ItemTower`'s interface (``num_items``, ``embedding_dim``,
    ``__call__(ids)``, ``all_items()``).

    Args:
      text_features: ``(M + 1, F)`` float table, row 0 = padding.
      embedding_dim: d.
      num_experts, adaptor_dropout, noisy_gating: the :class:`MoEAdaptor`'s.
      use_id_embedding: create an ID table ``(M + 1, d)`` (transductive mode).
      ids_enabled: add the ID embeddings in :meth:`call` (switched on by
        :meth:`MiracleModel.finish_pretraining`; it is a Python flag read when a function is
        traced, so set it before tracing).

    The text table is a constant, not a variable: it is data, stays out of checkpoints and
    can be swapped (:meth:`set_item_text_features`, for pre-training on other datasets).
    Functions trace the table they see, so trace anew after a swap.
    """

    def __init__(self, text_features, embedding_dim, num_experts=8, adaptor_dropout=0.0,
                 noisy_gating=False, use_id_embedding=False, ids_enabled=True,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        table = np.asarray(text_features, np.float32)
        if table.ndim != 2 or len(table) < 2:
            raise ValueError(f"text_features must be (M + 1, F), got shape {table.shape}")
        self.num_items = int(len(table) - 1)
        self.feature_dim = int(table.shape[1])
        self.embedding_dim = int(embedding_dim)
        self.use_id_embedding = bool(use_id_embedding)
        self.ids_enabled = bool(ids_enabled)
        self.initializer_range = float(initializer_range)
        self._text = tf.constant(table)
        self.adaptor = MoEAdaptor(self.embedding_dim, num_experts=num_experts,
                                  dropout=adaptor_dropout, noisy_gating=noisy_gating,
                                  name="moe_adaptor")

    def build(self, input_shape):
        self.adaptor.build((None, self.feature_dim))
        if self.use_id_embedding:
            self.id_embeddings = self.add_weight(
                name="item_id_embedding", shape=(self.num_items + 1, self.embedding_dim),
                initializer=tf.keras.initializers.RandomNormal(stddev=self.initializer_range))
        super().build(input_shape)

    def text_embeddings(self, ids, training=None):
        """``MoE(t_ids)`` without ID embeddings (pre-training, any text table).

        The adaptor runs once per distinct id of the call (a batch of 2,048 histories of 20
        items holds far fewer distinct items), so repeated occurrences share one dropout and
        gate-noise draw in training.
        """
        if not self.built:
            self.build(None)
        ids = tf.cast(ids, tf.int32)
        uniq, where = tf.unique(tf.reshape(ids, [-1]))
        x = self.adapt(tf.gather(self._text, uniq), training=training)
        return tf.reshape(tf.gather(x, where),
                          tf.concat([tf.shape(ids), [self.embedding_dim]], axis=0))

    def adapt(self, t, training=None):
        """``MoE(t)`` (Eq. 2-4) for text vectors ``t`` ``(..., F)``."""
        return self.adaptor(t, training=training)

    def call(self, ids, training=None):
        ids = tf.cast(ids, tf.int32)
        x = self.text_embeddings(ids, training=training)
        if self.use_id_embedding and self.ids_enabled:
            x = x + tf.gather(self.id_embeddings, ids)
        return x

    def all_items(self, training=False):
        """Embeddings of ids 0..M, ``(M + 1, d)``; row 0 is padding."""
        return self(tf.range(self.num_items + 1), training=training)

    @property
    def item_text_features(self):
        return self._text.numpy()

    def set_item_text_features(self, table):
        """Swaps the text table (same F); with IDs on, the row count must stay M + 1."""
        table = np.asarray(table, np.float32)
        if table.ndim != 2 or table.shape[1] != self.feature_dim:
            raise ValueError(f"text table must be (rows, {self.feature_dim}), got {table.shape}")
        if self.use_id_embedding and self.ids_enabled and len(table) != self.num_items + 1:
            raise ValueError("cannot swap in a table of another size while ID embeddings are on")
        self._text = tf.constant(table)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(embedding_dim=self.embedding_dim, num_items=self.num_items,
                   feature_dim=self.feature_dim, use_id_embedding=self.use_id_embedding,
                   num_experts=self.adaptor.num_experts,
                   adaptor_dropout=self.adaptor.dropout,
                   noisy_gating=self.adaptor.noisy_gating)
        return cfg


class MaskToken(tf.keras.layers.Layer):
    """The [MASK] vector of the interest-level contrastive task (Sec. 3.4.1), ``(d,)``,
    N(0, 0.02) initialised as officially; a layer of its own so that it can be frozen (it is
    unused outside pre-training, and never trained in the official code)."""

    def __init__(self, dim, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.initializer_range = float(initializer_range)

    def build(self, input_shape=None):
        self.embedding = self.add_weight(
            name="embedding", shape=(self.dim,),
            initializer=tf.keras.initializers.RandomNormal(stddev=self.initializer_range))
        super().build(input_shape)

    def call(self, inputs=None):
        return tf.identity(self.embedding)


class MiracleUserTower(SequenceUserTower):
    """History -> C interests ``(B, C, d)`` (non-activated slots hold copies, see module doc).

    :meth:`forward` returns every intermediate tensor (dict): ``h`` (B, n, d), ``scores``
    (B, n, C), ``argmax`` (B, n), ``activated`` (B, C) bool, ``counts`` (B, C), ``weights``
    (B, n), ``capsules`` (B, C, d) raw routing outputs, ``interests`` (B, C, d) filled.
    """

    def __init__(self, item_tower, max_len, num_capsules=32, num_layers=2, num_heads=2,
                 inner_dim=256, dropout=0.3, attention_dropout=0.3, interest_dropout=0.3,
                 position_dropout=0.3, iterations=3, variant="paper", noise=None,
                 noise_scale=0.2, noise_epsilon=0.01, epsilon=1e-12, initializer_range=0.02,
                 **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.num_capsules = int(num_capsules)
        self.initializer_range = float(initializer_range)
        self.encoder = ContextualEncoder(self.max_len, self.dim, num_layers, num_heads,
                                         inner_dim, dropout, attention_dropout, epsilon,
                                         initializer_range, name="encoder")
        self.activation = SparseCapsuleActivation(
            self.num_capsules, noise=noise or variant, noise_scale=noise_scale,
            noise_epsilon=noise_epsilon, initializer_range=initializer_range, name="capsules")
        self.position_attention = PositionAttention(self.max_len, variant=variant,
                                                    dropout=position_dropout,
                                                    initializer_range=initializer_range,
                                                    name="position_attention")
        self.routing = InterestRouting(self.num_capsules, iterations=iterations, variant=variant,
                                       dropout=interest_dropout, epsilon=epsilon,
                                       initializer_range=initializer_range, name="routing")

        self.mask_token = MaskToken(self.dim, initializer_range, name="mask_token")

    def build(self, input_shape):
        self.mask_token.build(None)
        super().build(input_shape)

    @property
    def mask_embedding(self):
        """The [MASK] vector ``(d,)``."""
        return self.mask_token.embedding

    def embed_history(self, features, training=None, text_only=False):
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        if text_only:
            emb = self.item_tower.text_embeddings(ids, training=training)
        else:
            emb = self.item_tower(ids, training=training)
        return emb * tf.cast(mask, emb.dtype)[..., None], mask

    def call(self, features, training=None):
        emb, mask = self.embed_history(features, training=training)
        return self.forward(emb, mask, training=training)["interests"]

    def encode(self, emb, mask, features, training):
        return self.forward(emb, mask, training=training)["interests"]

    def forward(self, emb, mask, training=None, activated=None):
        """All tensors of one pass; ``activated`` (B, C) forces the capsule set (Sec. 3.4.1)."""
        if not self.built:
            self.build(None)
        h = self.encoder(emb, mask=mask, training=training)
        scores, top, own = self.activation(h, mask=mask, training=training)
        counts = activation_counts(top, mask, self.num_capsules)
        if activated is None:
            activated = own
        else:  # forced set: count 1 for every forced capsule so the copy source is activated
            counts = counts * tf.cast(activated, counts.dtype) + tf.cast(activated, counts.dtype)
        weights = self.position_attention(h, mask=mask, training=training)
        capsules = self.routing(h, weights, mask=mask, activated=activated,
                                initial_logits=scores, training=training)
        return {"h": h, "scores": scores, "argmax": top, "activated": activated,
                "counts": counts, "weights": weights, "capsules": capsules,
                "interests": fill_inactive(capsules, activated, counts)}


def balance_loss(scores, valid, scale=1.0):
    """Capsule coverage regulariser, Eq. 19-21: ``scale * sum_j w_j r_j``.

    ``w`` = mean over the valid items of ``softmax(s_i)``, ``r`` = fraction of valid items whose
    argmax is capsule j. Paper: ``scale = C``; official: 1. ``scores`` (..., C), ``valid`` (...)
    bool. Gradients flow through ``w`` only.
    """
    c = scores.shape[-1]
    s = tf.reshape(scores, (-1, c))
    v = tf.cast(tf.reshape(valid, (-1,)), s.dtype)[:, None]
    n = tf.maximum(tf.reduce_sum(v), 1.0)
    w = tf.reduce_sum(tf.nn.softmax(s, axis=-1) * v, axis=0) / n
    r = tf.reduce_sum(tf.one_hot(tf.argmax(s, axis=-1), c, dtype=s.dtype) * v, axis=0) / n
    return scale * tf.reduce_sum(w * r)


def base_vector_contrast(base_vectors, temperature=0.1):
    """Orthogonality of the base vectors, Eq. 18 in the official InfoNCE form: mean over j of
    ``-log softmax_j'(cos(a_j, a_j') / temperature)[j]``."""
    a = tf.math.l2_normalize(base_vectors, axis=-1)
    logits = tf.matmul(a, a, transpose_b=True) / temperature
    labels = tf.range(tf.shape(a)[0])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def interest_contrast(capsules, capsules_aug, masked, argmax):
    """Interest-level InfoNCE, Eq. 15 (mean over the B_m masked items of the batch).

    For masked item m (row b, position t) with original capsule ``k = argmax[b, t]``, the
    anchor is ``u[b, k]`` (original sequence), the positive ``u'[b, k]`` (masked copy), the
    negatives the other masked items' ``u'``. 0 when nothing is masked.

    Args: ``capsules``/``capsules_aug`` (B, C, d); ``masked`` (B, n) bool; ``argmax`` (B, n).
    """
    where = tf.where(masked)  # (B_m, 2) int64 [row, position]
    rows = tf.cast(where[:, 0], tf.int32)
    caps = tf.gather_nd(argmax, where)
    idx = tf.stack([rows, tf.cast(caps, tf.int32)], axis=1)
    a = tf.gather_nd(capsules, idx)
    b = tf.gather_nd(capsules_aug, idx)
    logits = tf.matmul(a, b, transpose_b=True)
    # cross-entropy with the diagonal as labels, written out so that B_m = 0 gives 0
    ce = tf.reduce_logsumexp(logits, axis=1) - tf.linalg.diag_part(logits)
    return tf.reduce_sum(ce) / tf.maximum(tf.cast(tf.shape(a)[0], ce.dtype), 1.0)


def mask_items(mask, prob, official=False):
    """``(B, n)`` bool: the items replaced by [MASK] (Sec. 3.4.1, probability ``prob``).

    ``official``: never the last (most recent) position and nothing in sequences with fewer
    than 5 real items.
    """
    mask = tf.cast(mask, tf.bool)
    drawn = (tf.random.uniform(tf.shape(mask)) < prob) & mask
    if official:
        n = tf.shape(mask)[1]
        drawn &= (tf.range(n) < n - 1)[None, :]
        drawn &= (tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) >= 5)[:, None]
    return drawn


def max_interest_logits(interests, activated, candidates):
    """``(B, N)`` = max over the activated interests of ``u . x`` for candidates (N, d)."""
    compact = compact_interests(interests, activated)
    return tf.reduce_max(tf.einsum("bkd,nd->bkn", compact, candidates), axis=1)


class MiracleModel(MultiInterestModel):
    """MIRACLE with :meth:`pretrain_loss`, :meth:`finish_pretraining` and a text item tower.

    Args:
      item_tower: :class:`TextItemTower`.
      user_tower: :class:`MiracleUserTower`.
      loss: fine-tuning objective; ``kind="full_softmax"`` (Eq. 23) has a fast path over the
        activated interests; other kinds go through :func:`mirec.models.losses.retrieval_loss`
        (with ``readout="max"``).
      mode: ``"transductive"`` | ``"inductive"``.
      variant: ``"paper"`` | ``"official"`` (see module docstring).
      loss_weights: ``{"balance": theta1/4, "base": theta2/5, "interest": theta3}``.
      mask_prob: masking probability of the interest contrast (0.2).
      base_temperature: temperature of the base-vector contrast (official 0.1).
      remove_duplicate_targets: mask in-batch negatives equal to the positive in pre-training
        (off: Eq. 16 and the official code keep them).
    """

    def __init__(self, item_tower, user_tower, loss=None, mode="transductive",
                 variant="paper", loss_weights=None, mask_prob=0.2, base_temperature=0.1,
                 remove_duplicate_targets=False, **kwargs):
        super().__init__(item_tower, user_tower,
                         loss or LossConfig(kind="full_softmax", readout="max"), **kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.mode = mode
        self.variant = variant
        self.loss_weights = dict(DEFAULT_LOSS_WEIGHTS)
        self.loss_weights.update(dict(loss_weights or {}))
        self.mask_prob = float(mask_prob)
        self.base_temperature = float(base_temperature)
        self.remove_duplicate_targets = bool(remove_duplicate_targets)
        self.pretraining_finished = False

    @property
    def official(self):
        return self.variant == "official"

    def _balance_scale(self):
        return 1.0 if self.official else float(self.user_tower.num_capsules)

    def _regularisers(self, out, mask, candidates, training):
        """theta_b * balance + theta_c * base contrast (Eq. 18-21); candidates (N, d) or None."""
        bal = balance_loss(out["scores"], mask, self._balance_scale())
        if self.official and candidates is not None:
            cand_scores = self.user_tower.activation.similarity(candidates, training=training)
            bal += balance_loss(cand_scores, tf.ones(tf.shape(cand_scores)[:1], tf.bool))
        base = base_vector_contrast(self.user_tower.activation.base_vectors,
                                    self.base_temperature)
        w = self.loss_weights
        return w["balance"] * bal + w["base"] * base, bal, base

    def compute_loss(self, features, training=False):
        """Fine-tuning loss, Eq. 23-24: full softmax + theta4 balance + theta5 base contrast.

        The history embeddings are rows of the same ``all_items`` table as the candidates
        (one adaptor pass over the M + 1 items per step).
        """
        items = self.item_tower.all_items(training=training)
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = tf.gather(items, ids) * tf.cast(mask, items.dtype)[..., None]
        out = self.user_tower.forward(emb, mask, training=training)
        targets = tf.cast(features["target"], tf.int32)
        cfg = self.loss_config
        if cfg.kind == "full_softmax":
            logits = max_interest_logits(out["interests"], out["activated"], items[1:])
            rec = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                targets - 1, logits / cfg.temperature))
        else:
            rec = retrieval_loss(cfg, out["interests"], targets,
                                 lambda ids: tf.gather(items, tf.cast(ids, tf.int32)),
                                 self.num_items, negatives=features.get("negatives"))
        reg, _, _ = self._regularisers(out, mask, items[1:], training)
        return rec + reg

    def pretrain_losses(self, features, training=True):
        """The terms of Eq. 22 as a dict: ``rec``, ``balance``, ``base``, ``interest``,
        ``total``. Text only (no ID embeddings, whatever the mode)."""
        tower = self.user_tower
        emb, mask = tower.embed_history(features, training=training, text_only=True)
        out = tower.forward(emb, mask, training=training)
        targets = tf.cast(features["target"], tf.int32)
        target_emb = self.item_tower.text_embeddings(targets, training=training)
        # Eq. 16-17: in-batch softmax, score = max over the activated interests.
        logits = max_interest_logits(out["interests"], out["activated"], target_emb)
        b = tf.shape(targets)[0]
        if self.remove_duplicate_targets:
            dup = tf.equal(targets[:, None], targets[None, :]) & ~tf.eye(b, dtype=tf.bool)
            logits = tf.where(dup, -1e9, logits)
        rec = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.range(b), logits))
        reg, bal, base = self._regularisers(out, mask, target_emb, training)
        # Eq. 15: mask items, keep the original activation set, contrast the masked items'
        # interests of both views.
        masked = mask_items(mask, self.mask_prob, official=self.official)
        token = tower.mask_embedding
        if self.official:
            token = tf.stop_gradient(token)  # `mask_param.data`: never trained
        emb_aug = tf.where(masked[..., None], token[None, None, :], emb)
        out_aug = tower.forward(emb_aug, mask, training=training, activated=out["activated"])
        inter = interest_contrast(out["capsules"], out_aug["capsules"], masked, out["argmax"])
        total = rec + reg + self.loss_weights["interest"] * inter
        return {"total": total, "rec": rec, "balance": bal, "base": base, "interest": inter}

    def pretrain_loss(self, features, training=True):
        """Eq. 22: ``l_rec + theta1 l_b + theta2 l_c + theta3 l_i`` (scalar)."""
        return self.pretrain_losses(features, training=training)["total"]

    def set_item_text_features(self, table):
        """Swaps the item text table (pre-training on other datasets, :mod:`mirec.pretrain`)."""
        self.item_tower.set_item_text_features(table)

    def finish_pretraining(self):
        """Freezes the sequence encoder for fine-tuning (Eq. 23-24) and turns IDs on."""
        enc = self.user_tower.encoder
        enc.positions.trainable = False
        for block in enc.blocks:
            block.trainable = False
        if not self.official:
            enc.input_norm.trainable = False
        self.user_tower.mask_token.trainable = False  # only pre-training uses [MASK]
        if self.mode == "transductive":
            self.item_tower.ids_enabled = True
        self.pretraining_finished = True
        if getattr(self, "_is_compiled", False):
            # Keras' fit/evaluate put every layer back to its `trainable` value of compile time
            # (RespectCompiledTrainableState) and mirec.train compiles before pre-training:
            # re-record the compile-time state (and drop any traced step functions).
            self._reset_compile_cache()


def default_model_config(variant: str = "paper") -> ml_collections.ConfigDict:
    """``config.model`` of MIRACLE (Sec. 4.1.4 + the official defaults for the rest)."""
    return ml_collections.ConfigDict(dict(
        name="miracle", variant=variant, mode="transductive", embedding_dim=300,
        num_experts=8, adaptor_dropout=0.3, noisy_gating=variant == "official",
        num_layers=2, num_heads=2, inner_dim=256, dropout=0.3, attention_dropout=0.3,
        layer_norm_epsilon=1e-12, initializer_range=0.02, num_capsules=32, iterations=3,
        noise_scale=0.2, noise_epsilon=0.01, interest_dropout=0.3, position_dropout=0.3,
        mask_prob=0.2, base_temperature=0.1, remove_duplicate_targets=False,
        loss_weights=dict(DEFAULT_LOSS_WEIGHTS)))


def build_model(config, info) -> MiracleModel:
    """MIRACLE for ``info`` (needs ``info.item_text_features``) from ``config.model``.

    In the transductive mode with ``config.pretrain.enabled`` the ID embeddings start off and
    are switched on by :meth:`MiracleModel.finish_pretraining`; without pre-training they are
    used from the start.
    """
    if info.item_text_features is None:
        raise ValueError("MIRACLE needs item text features: set config.dataset.text_features "
                         "to a file written by `python -m mirec.data encode-text`")
    m = config.model
    d = default_model_config(m.get("variant", "paper"))
    get = lambda k: m.get(k, d[k])  # noqa: E731
    variant, mode = get("variant"), get("mode")
    pretrain = bool(config.get("pretrain") and config.pretrain.get("enabled", False))
    item_tower = TextItemTower(
        info.item_text_features, get("embedding_dim"), num_experts=get("num_experts"),
        adaptor_dropout=get("adaptor_dropout"), noisy_gating=get("noisy_gating"),
        use_id_embedding=mode == "transductive", ids_enabled=not pretrain,
        initializer_range=get("initializer_range"), name="item_tower")
    user_tower = MiracleUserTower(
        item_tower, info.max_len, num_capsules=get("num_capsules"), num_layers=get("num_layers"),
        num_heads=get("num_heads"), inner_dim=get("inner_dim"), dropout=get("dropout"),
        attention_dropout=get("attention_dropout"), interest_dropout=get("interest_dropout"),
        position_dropout=get("position_dropout"), iterations=get("iterations"),
        variant=variant, noise_scale=get("noise_scale"), noise_epsilon=get("noise_epsilon"),
        epsilon=get("layer_norm_epsilon"), initializer_range=get("initializer_range"),
        name="miracle")
    # [MASK] is only used in pre-training and never trained by the official code.
    user_tower.mask_token.trainable = pretrain and variant == "paper"
    loss = LossConfig(**dict(config.loss)) if config.get("loss") else None
    return MiracleModel(item_tower, user_tower, loss, mode=mode, variant=variant,
                        loss_weights=dict(get("loss_weights")), mask_prob=get("mask_prob"),
                        base_temperature=get("base_temperature"),
                        remove_duplicate_targets=get("remove_duplicate_targets"),
                        item_popularity=info.item_popularity)
