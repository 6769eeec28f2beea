"""BERT4Rec: bidirectional Transformer trained with the Cloze objective (Sun et al., CIKM 2019).

Fei Sun, Jun Liu, Jian Wu, Changhua Pei, Xiao Lin, Wenwu Ou and Peng Jiang, "BERT4Rec:
Sequential Recommendation with Bidirectional Encoder Representations from Transformer",
CIKM 2019. Baseline "with pre-training" of MIRACLE's Table 2 (its only training is the Cloze
task; there is no separate pre-training stage).

This module also holds the Transformer pieces FDSA (:mod:`mirec.models.fdsa`) and S3-Rec
(:mod:`mirec.models.s3rec`) share: the post-LayerNorm block of BERT / RecBole's
``TransformerLayer`` and an encoder with positions.

Structure, for an input sequence ``s_1..s_T`` (left-padded with 0, most recent last; the
[MASK] token has id ``M + 1``)::

    x_t = E[s_t] (or the [MASK] vector m) + P[pos_t]       Eq. 4, learned positions
    x = Dropout(LayerNorm(x)) * mask                       BERT / RecBole input layer
    for l in 1..L:                                         Eq. 1-3, post-LN blocks
        x = LN(x + Dropout(MultiHeadAttention(x, x, padding mask)))   (no causal mask)
        x = LN(x + Dropout(W2 GELU(W1 x + b1) + b2))                 FFN of width inner_size
        x = x * mask
    P(v | s_t = [MASK]) = softmax_v(h_t . E[v])            Eq. 7 (output_head="none")
                       or softmax_v(LN(GELU(W h_t + b)) . E[v] + b_v)  (output_head="paper")

Training (Cloze, Sec. 3.6): each real position of ``history + [target]`` (length n + 1) is
replaced by [MASK] with probability ``mask_prob`` and predicted with a full softmax over items
1..M; the loss is the mean cross-entropy over all masked positions of the batch (RecBole's
``loss_type=CE``). Inference: ``history + [MASK]``, the [MASK] position's output is the user
vector ``(batch_size, 1, embedding_dim)``, scored against the shared item embeddings.

Choices and what they rest on:

* Hyper-parameters of MIRACLE's Table 2 row: RecBole's BERT4Rec defaults (RecBole v1.0.1
  ``BERT4Rec.yaml``: 2 layers, 2 heads, inner size 256, dropout 0.5 on hidden states and on
  attention weights, GELU, LayerNorm eps 1e-12, ``mask_ratio`` 0.2) with hidden size 300
  as UniSRec (whose data and baselines MIRACLE reuses) ran its baselines. The paper's own
  choices differ: d = 64, dropout 0.1, mask proportion rho = 0.6 on Beauty (0.4 Steam, 0.2
  ML-1m/ML-20m); ``mask_prob`` is a constructor argument.
* [MASK] has its own input vector (:class:`MaskTokenEmbedding`); the output side scores only
  items 1..M through the shared item tower (RecBole 1.0.1 also scores padding id 0; we do
  not).
* Output layer: RecBole 1.0.1 uses the raw last-layer state (``output_head="none"``, the
  default here). The paper's Eq. 7 projection ``GELU(h W + b)`` (followed by a LayerNorm in
  the official code's masked-LM head) and per-item output bias are ``output_head="paper"``;
  the bias is served exactly by appending a constant 1 to the user vector and the bias to
  each item vector (both become ``embedding_dim + 1`` wide).
* The paper also trains on copies of the sequences with only the last item masked, to match
  the next-item task; ``last_item_mask_prob`` is the fraction of rows masked that way
  (0 = RecBole, which does not do it).
* Positions are counted from the most recent item (``pos = T - 1 - t``), so left padding does
  not move them; with a fixed length this is a relabelling of the paper's absolute
  positions. Padded query rows may attend to themselves only (no NaN), and padded positions
  are zeroed after every block, so they never influence real ones.
* Not reproduced: the official code's ``dupe_factor`` copies of each sequence with fresh
  masks (a new mask is drawn for every batch instead) and its sampled-candidate evaluation
  (Table 2 ranks all items, RUCAIBox/RecBole#1443 discusses the gap).

Public API: :class:`PostLNBlock`, :class:`ItemSequenceEncoder`, :class:`MaskTokenEmbedding`,
:class:`MaskedSequenceTower`, :class:`BERT4RecTower`, :class:`BERT4RecModel`,
:func:`bidirectional_padding_mask`, :func:`build_model`, :func:`default_model_config`.
"""

from __future__ import annotations

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.models.sasrec import SASRecBlock, causal_padding_mask
from mirec.towers.item import ItemTower
from mirec.towers.user import SequenceUserTower

BLOCKS = ("post_ln", "pre_ln")
OUTPUT_HEADS = ("none", "paper")


def bidirectional_padding_mask(mask):
    """Boolean attention mask ``(batch_size, n, n)``: query t may attend key s iff s is a real
    position, or s == t (padded queries attend to themselves, so no softmax row is empty)."""
    mask = tf.cast(mask, tf.bool)
    n = tf.shape(mask)[1]
    eye = tf.eye(n, dtype=tf.bool)
    return (mask[:, None, :] & tf.ones((1, n, 1), tf.bool)) | eye[None]


@tf.keras.utils.register_keras_serializable(package="mirec")
class PostLNBlock(tf.keras.layers.Layer):
    """One post-LayerNorm Transformer block (BERT4Rec Eq. 1-3; RecBole ``TransformerLayer``).

    ``x = LN(x + Dropout(MHA(x, x))); x = LN(x + Dropout(W2 act(W1 x)))``, then padded
    positions are zeroed.

    Input: ``x`` ``(batch_size, n, dim)``, boolean ``attention_mask`` ``(batch_size, n, n)``
    and ``maskf`` ``(batch_size, n, 1)`` (1 = real position). Output: ``(batch_size, n, dim)``.

    Example:
      >>> block = PostLNBlock(8, num_heads=2, inner_size=16)
      >>> m = tf.ones((2, 3), bool)
      >>> block(tf.ones((2, 3, 8)), bidirectional_padding_mask(m), tf.ones((2, 3, 1))).shape
      TensorShape([2, 3, 8])
    """

    def __init__(self, dim, num_heads=2, inner_size=256, dropout=0.5, attention_dropout=0.5,
                 activation="gelu", epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.num_heads = int(num_heads)
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} not divisible by num_heads {self.num_heads}")
        self.inner_size = int(inner_size)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.activation = activation
        self.epsilon = float(epsilon)
        self.attention = tf.keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.dim // self.num_heads,
            dropout=self.attention_dropout, name="attention")
        self.ln_attention = tf.keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                               name="ln_attention")
        self.ffn_in = tf.keras.layers.Dense(self.inner_size, activation=activation, name="ffn_in")
        self.ffn_out = tf.keras.layers.Dense(self.dim, name="ffn_out")
        self.ln_ffn = tf.keras.layers.LayerNormalization(epsilon=self.epsilon, name="ln_ffn")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)

    def call(self, x, attention_mask, maskf, training=None):
        a = self.attention(x, x, attention_mask=attention_mask, training=training)
        x = self.ln_attention(x + self.dropout(a, training=training))
        f = self.ffn_out(self.ffn_in(x))
        x = self.ln_ffn(x + self.dropout(f, training=training))
        return x * maskf

    def get_config(self):
        cfg = super().get_config()
        cfg.update(dim=self.dim, num_heads=self.num_heads, inner_size=self.inner_size,
                   dropout=self.dropout_rate, attention_dropout=self.attention_dropout,
                   activation=self.activation, epsilon=self.epsilon)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class ItemSequenceEncoder(tf.keras.layers.Layer):
    """Positions + input LayerNorm + Transformer blocks over a sequence of vectors.

    ``block="post_ln"`` (BERT4Rec, and RecBole's SASRec/FDSA/S3-Rec)::

        x = Dropout(LN(emb + P[pos])) * mask; x = PostLNBlock(x) ... (num_layers times)

    ``block="pre_ln"`` (official SASRec, reusing :class:`mirec.models.sasrec.SASRecBlock`:
    FFN width dim with ReLU, one dropout rate; no input LayerNorm and no sqrt(D) input
    scaling, a final LayerNorm)::

        x = Dropout(emb + P[pos]) * mask; x = SASRecBlock(x) ...; x = LN(x)

    Args:
      dim: width D of the vectors.
      max_len: size of the positional table (inputs may be shorter, never longer).
      num_layers, num_heads, inner_size, dropout, attention_dropout, activation, epsilon:
        see :class:`PostLNBlock` (``pre_ln`` uses num_heads, dropout and epsilon only).

    Call: ``(emb (batch_size, n, dim), mask (batch_size, n), causal=False)`` ->
    ``(batch_size, n, dim)``, zero at padded positions. ``causal=True`` lets position t see
    positions <= t only (SASRec/FDSA/S3-Rec fine-tuning); else every real position.
    Positions count from the end: ``pos_t = n - 1 - t``.

    Example:
      >>> enc = ItemSequenceEncoder(8, max_len=5, num_layers=1, num_heads=2, inner_size=16)
      >>> enc(tf.ones((2, 4, 8)), tf.ones((2, 4), bool), causal=True).shape
      TensorShape([2, 4, 8])
    """

    def __init__(self, dim, max_len, num_layers=2, num_heads=2, inner_size=256, dropout=0.5,
                 attention_dropout=0.5, activation="gelu", epsilon=1e-12, block="post_ln",
                 **kwargs):
        super().__init__(**kwargs)
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
        self.dim = int(dim)
        self.max_len = int(max_len)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.inner_size = int(inner_size)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.activation = activation
        self.epsilon = float(epsilon)
        self.block = block
        self.positions = tf.keras.layers.Embedding(self.max_len, self.dim,
                                                   name="position_embedding")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        if block == "post_ln":
            self.ln = tf.keras.layers.LayerNormalization(epsilon=self.epsilon, name="ln_input")
            self.blocks = [PostLNBlock(self.dim, self.num_heads, self.inner_size,
                                       self.dropout_rate, self.attention_dropout,
                                       self.activation, self.epsilon, name=f"block_{i}")
                           for i in range(self.num_layers)]
        else:
            self.ln = tf.keras.layers.LayerNormalization(epsilon=self.epsilon, name="ln_out")
            self.blocks = [SASRecBlock(self.dim, self.num_heads, self.dropout_rate,
                                       self.epsilon, name=f"block_{i}")
                           for i in range(self.num_layers)]

    def call(self, emb, mask, causal=False, training=None):
        n = tf.shape(emb)[1]
        maskf = tf.cast(mask, emb.dtype)[..., None]
        x = emb + self.positions(tf.range(n - 1, -1, -1))[None]
        if self.block == "post_ln":
            x = self.ln(x)
        x = self.dropout(x, training=training) * maskf
        attention_mask = causal_padding_mask(mask) if causal else bidirectional_padding_mask(mask)
        for block in self.blocks:
            x = block(x, attention_mask, maskf, training=training)
        if self.block == "pre_ln":
            x = self.ln(x) * maskf
        return x

    def get_config(self):
        cfg = super().get_config()
        cfg.update(dim=self.dim, max_len=self.max_len, num_layers=self.num_layers,
                   num_heads=self.num_heads, inner_size=self.inner_size,
                   dropout=self.dropout_rate, attention_dropout=self.attention_dropout,
                   activation=self.activation, epsilon=self.epsilon, block=self.block)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class MaskTokenEmbedding(tf.keras.layers.Layer):
    """The input vector of the [MASK] token, ``(dim,)`` (a layer of its own so that it can be
    frozen: S3-Rec does not use it after pre-training)."""

    def __init__(self, dim, stddev=0.02, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.stddev = float(stddev)
        self.vector = self.add_weight(
            name="mask_vector", shape=(self.dim,),
            initializer=tf.keras.initializers.TruncatedNormal(stddev=self.stddev))

    def call(self, ids):
        """``ids`` of any shape -> ``ids.shape + (dim,)`` copies of the vector."""
        shape = tf.concat([tf.shape(ids), [1]], 0)
        return tf.ones(shape, self.vector.dtype) * self.vector

    def get_config(self):
        cfg = super().get_config()
        cfg.update(dim=self.dim, stddev=self.stddev)
        return cfg


class MaskedSequenceTower(SequenceUserTower):
    """Base of BERT4Rec's and S3-Rec's towers: item ids 0..M plus [MASK] = M + 1 -> encoder.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower` (ids 0..M).
      max_len: history length n fed to the tower.
      seq_len: length of the encoder's positional table (n + 1 for BERT4Rec's appended
        [MASK]; n for S3-Rec).
      the rest: :class:`ItemSequenceEncoder`'s.
    """

    def __init__(self, item_tower, max_len, seq_len=None, num_layers=2, num_heads=2,
                 inner_size=256, dropout=0.5, attention_dropout=0.5, activation="gelu",
                 epsilon=1e-12, block="post_ln", **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.mask_id = item_tower.num_items + 1
        self.seq_len = int(seq_len or max_len)
        self.mask_token = MaskTokenEmbedding(self.dim, name="mask_token")
        self.encoder = ItemSequenceEncoder(
            self.dim, self.seq_len, num_layers=num_layers, num_heads=num_heads,
            inner_size=inner_size, dropout=dropout, attention_dropout=attention_dropout,
            activation=activation, epsilon=epsilon, block=block, name="encoder")

    def embed(self, ids):
        """``(batch_size, n)`` ids in 0..M+1 -> ``(batch_size, n, dim)``; padding -> 0."""
        ids = tf.cast(ids, tf.int32)
        is_mask = tf.equal(ids, self.mask_id)
        emb = self.item_tower(tf.where(is_mask, tf.zeros_like(ids), ids))
        emb = tf.where(is_mask[..., None], self.mask_token(ids), emb)
        return emb * tf.cast(ids > 0, emb.dtype)[..., None]

    def sequence_outputs(self, ids, causal=False, training=None):
        """Encoder outputs ``(batch_size, n, dim)`` of an id sequence (with [MASK] ids)."""
        ids = tf.cast(ids, tf.int32)
        return self.encoder(self.embed(ids), ids > 0, causal=causal, training=training)


class BERT4RecTower(MaskedSequenceTower):
    """History -> ``history + [MASK]`` -> bidirectional encoder -> the [MASK] position.

    Output ``(batch_size, 1, embedding_dim)``, or ``embedding_dim + 1`` with
    ``output_head="paper"`` (a trailing 1 that multiplies the item bias).

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = BERT4RecTower(ItemTower(10, 8), max_len=4, num_layers=1, inner_size=16)
      >>> tower({"history": tf.constant([[0, 0, 3, 4]])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, output_head="none", **kwargs):
        super().__init__(item_tower, max_len, seq_len=int(max_len) + 1, **kwargs)
        if output_head not in OUTPUT_HEADS:
            raise ValueError(f"output_head must be one of {OUTPUT_HEADS}, got {output_head!r}")
        self.output_head = output_head
        if output_head == "paper":
            self.head_dense = tf.keras.layers.Dense(self.dim, activation="gelu",
                                                    name="head_dense")
            self.head_ln = tf.keras.layers.LayerNormalization(epsilon=1e-12, name="head_ln")

    def transform(self, h):
        """The output head applied to encoder states ``(rows, dim)``."""
        if self.output_head == "paper":
            return self.head_ln(self.head_dense(h))
        return h

    def call(self, features, training=None):
        hist = tf.cast(features["history"], tf.int32)
        mask_col = tf.fill([tf.shape(hist)[0], 1], self.mask_id)
        h = self.sequence_outputs(tf.concat([hist, mask_col], 1), training=training)
        q = self.transform(h[:, -1, :])[:, None, :]  # the head always sees (rows, dim)
        if self.output_head == "paper":
            q = tf.concat([q, tf.ones_like(q[..., :1])], -1)
        return q


class BERT4RecModel(MultiInterestModel):
    """BERT4Rec with its Cloze loss; ``call``/``encode_users`` append [MASK] (via the tower).

    Args:
      item_tower, user_tower: the shared :class:`ItemTower` and a :class:`BERT4RecTower`.
      mask_prob: probability rho of masking each real position in training.
      last_item_mask_prob: fraction of rows that instead mask only their last item.
    """

    def __init__(self, item_tower, user_tower, mask_prob=0.2, last_item_mask_prob=0.0,
                 **kwargs):
        kwargs.setdefault("loss", LossConfig(kind="full_softmax", readout="single"))
        super().__init__(item_tower, user_tower, **kwargs)
        self.mask_prob = float(mask_prob)
        self.last_item_mask_prob = float(last_item_mask_prob)
        self.item_bias = None
        if user_tower.output_head == "paper":
            self.item_bias = self.add_weight(name="item_bias", shape=(item_tower.num_items + 1,),
                                             initializer="zeros")

    @property
    def mask_id(self):
        return self.user_tower.mask_id

    def item_embeddings(self):
        """``(M + 1, dim)`` (``dim + 1`` with the paper head: ``[E_v, b_v]``)."""
        e = self.item_tower.all_items()
        if self.item_bias is not None:
            e = tf.concat([e, self.item_bias[:, None]], -1)
        return e

    def sample_mask(self, seq):
        """Boolean ``(batch_size, T)``: which real positions of ``seq`` to mask."""
        seq = tf.cast(seq, tf.int32)
        real = seq > 0
        mask = (tf.random.uniform(tf.shape(seq)) < self.mask_prob) & real
        if self.last_item_mask_prob > 0:
            rows = tf.random.uniform(tf.shape(seq)[:1]) < self.last_item_mask_prob
            last = tf.one_hot(tf.shape(seq)[1] - 1, tf.shape(seq)[1], on_value=True,
                              off_value=False, dtype=tf.bool)
            mask = tf.where(rows[:, None], last[None, :] & real, mask)
        return mask

    def masked_item_loss(self, seq, mask, training=False):
        """Mean full-softmax cross-entropy of the items at the ``mask`` positions of ``seq``
        (``(batch_size, T)`` ids, boolean ``(batch_size, T)``); 0 if nothing is masked."""
        seq = tf.cast(seq, tf.int32)
        mask = tf.cast(mask, tf.bool)
        masked = tf.where(mask, tf.fill(tf.shape(seq), self.mask_id), seq)
        h = self.user_tower.sequence_outputs(masked, training=training)
        q = self.user_tower.transform(tf.boolean_mask(h, mask))  # (P, dim)
        items = self.item_tower(tf.range(1, self.num_items + 1))  # (M, dim)
        logits = tf.matmul(q, items, transpose_b=True)
        if self.item_bias is not None:
            logits += self.item_bias[None, 1:]
        labels = tf.boolean_mask(seq, mask) - 1
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.reduce_sum(ce) / tf.maximum(tf.cast(tf.size(labels), ce.dtype), 1.0)

    def compute_loss(self, features, training=False):
        hist = tf.cast(features["history"], tf.int32)
        target = tf.cast(features["target"], tf.int32)
        seq = tf.concat([hist, target[:, None]], 1)  # (B, n + 1), target last
        return self.masked_item_loss(seq, self.sample_mask(seq), training=training)


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` of MIRACLE's Table 2 BERT4Rec row (RecBole 1.0.1 defaults, D = 300)."""
    return ml_collections.ConfigDict(dict(
        name="bert4rec", embedding_dim=300, num_layers=2, num_heads=2, inner_size=256,
        dropout=0.5, attention_dropout=0.5, activation="gelu", epsilon=1e-12, block="post_ln",
        mask_prob=0.2, last_item_mask_prob=0.0, output_head="none"))


def build_model(config, info) -> BERT4RecModel:
    """BERT4Rec for ``info`` from ``config.model`` (fields of :func:`default_model_config`);
    the objective is always the Cloze full softmax (``config.loss`` is not used)."""
    d = default_model_config()
    cfg = config.model

    def get(k):
        return cfg.get(k, d[k])

    item_tower = ItemTower(info.num_items, get("embedding_dim"), name="item_tower")
    tower = BERT4RecTower(item_tower, info.max_len, output_head=get("output_head"),
                          num_layers=get("num_layers"), num_heads=get("num_heads"),
                          inner_size=get("inner_size"), dropout=get("dropout"),
                          attention_dropout=get("attention_dropout"),
                          activation=get("activation"), epsilon=get("epsilon"),
                          block=get("block"), name="bert4rec")
    return BERT4RecModel(item_tower, tower, mask_prob=get("mask_prob"),
                         last_item_mask_prob=get("last_item_mask_prob"))
