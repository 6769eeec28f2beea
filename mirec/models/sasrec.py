"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

Wang-Cheng Kang and Julian McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018
(arXiv:1808.09781). Baseline of SINE Table 1 (Tan et al., WSDM 2021).

Structure (one interest, K = 1), for the history ``i_1..i_n`` (most recent last)::

    x_t = E[i_t] * sqrt(D) + P[pos_t]                  item + learned positional embedding
    x_t = Dropout(x_t) * mask_t
    for b in 1..num_blocks:                            pre-LayerNorm residual blocks
        x = x + Dropout(MultiHeadAttention(LN(x), LN(x), causal & padding mask))
        x = x + Dropout(FFN(LN(x)))                    FFN = W2 Dropout(ReLU(W1 x + b1)) + b2
        x = x * mask
    user vector u = LN(x_n)                            output at the last (most recent) position

Choices and what they rest on:

* Paper: learned positional embedding, causal self-attention, point-wise two-layer FFN of
  width D with ReLU, residual connections, LayerNorm and dropout ``g(x) = x +
  Dropout(g(LN(x)))``, 2 blocks, 1 head, dropout 0.2 on ML-1M (0.5 on the sparse sets),
  shared input/output item embeddings. The paper uses d = 50 and n = 200 for ML-1M; SINE
  fixes D = 128 and n = 20.
* ``sqrt(D)`` input scaling: from the official SASRec code, not the paper
  (``scale_embeddings=True``).
* Positions are counted from the END (``pos_t = n - t``, 0 for the most recent item), so a
  history gives the same output whatever its amount of left padding; with a fixed n this
  is a relabelling of the paper's absolute positions (same model family).
* Attention mask: query t may attend key s iff ``s <= t`` and ``s`` is a real item.
  With left padding, padded query rows would have no allowed key at all; they are allowed
  to attend to themselves (the diagonal), which keeps every softmax row well defined (no
  NaN) and never lets a real query see padding. Padded positions are zeroed after every
  block, so they never influence real ones.
* Dropout also on the attention weights (``MultiHeadAttention(dropout=...)``), as in the
  official code.
* Not reproduced: SASRec's binary cross-entropy with one negative per position (all
  positions are trained). We train the last position's output with the shared objective
  (``mirec.models.losses``, readout ``"single"``); the data pipeline's every-prefix
  training examples play the role of per-position supervision. SINE lists SASRec as
  "multi-embedding" (multi-head); with 1 head (paper default) it is one vector.

Public API: :class:`SASRecTower` (with ``sequence_outputs``), :class:`SASRecBlock`,
:func:`causal_padding_mask`, :func:`build_tower`,
:func:`default_model_config`, :func:`default_loss_overrides`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


def causal_padding_mask(mask):
    """Boolean attention mask ``(batch_size, n, n)`` from a padding mask ``(batch_size, n)``.

    ``out[b, t, s]`` is True iff query t may attend key s: ``s <= t`` and s is a real item,
    or ``s == t`` (so padded queries, which have no real key before them, attend to
    themselves instead of to nothing).
    """
    mask = tf.cast(mask, tf.bool)
    n = tf.shape(mask)[1]
    causal = tf.linalg.band_part(tf.ones((n, n), tf.bool), -1, 0)  # lower triangle
    eye = tf.eye(n, dtype=tf.bool)
    return (causal[None] & mask[:, None, :]) | eye[None]


class SASRecBlock(tf.keras.layers.Layer):
    """One pre-LayerNorm block: causal multi-head self-attention, then a point-wise FFN."""

    def __init__(self, dim, num_heads=1, dropout=0.2, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.num_heads = int(num_heads)
        self.dropout_rate = float(dropout)
        self.ln_attention = tf.keras.layers.LayerNormalization(epsilon=epsilon)
        self.attention = tf.keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.dim // self.num_heads,
            dropout=self.dropout_rate, name="attention")
        self.ln_ffn = tf.keras.layers.LayerNormalization(epsilon=epsilon)
        self.ffn_in = tf.keras.layers.Dense(self.dim, activation="relu", name="ffn_in")
        self.ffn_out = tf.keras.layers.Dense(self.dim, name="ffn_out")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)

    def call(self, x, attention_mask, maskf, training=None):
        q = self.ln_attention(x)
        a = self.attention(q, q, attention_mask=attention_mask, training=training)
        x = x + self.dropout(a, training=training)
        f = self.ffn_out(self.dropout(self.ffn_in(self.ln_ffn(x)), training=training))
        x = x + self.dropout(f, training=training)
        return x * maskf


class SASRecTower(SequenceUserTower):
    """History -> causal Transformer -> last position, ``(batch_size, 1, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n (size of the positional table; inputs may be shorter).
      num_blocks: self-attention blocks.
      num_heads: attention heads (D must be divisible by it).
      dropout: dropout rate (embeddings, attention weights, sub-layer outputs).
      scale_embeddings: multiply item embeddings by sqrt(D) (official code).

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = SASRecTower(ItemTower(10, 8), max_len=5)
      >>> tower({"history": tf.constant([[0, 0, 1, 2, 3]])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, num_blocks=2, num_heads=1, dropout=0.2,
                 scale_embeddings=True, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if self.dim % int(num_heads):
            raise ValueError(f"embedding_dim {self.dim} not divisible by num_heads {num_heads}")
        self.num_blocks = int(num_blocks)
        self.num_heads = int(num_heads)
        self.dropout_rate = float(dropout)
        self.scale_embeddings = bool(scale_embeddings)
        self.positions = tf.keras.layers.Embedding(self.max_len, self.dim,
                                                   name="position_embedding")
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)
        self.blocks = [SASRecBlock(self.dim, self.num_heads, self.dropout_rate, name=f"block_{i}")
                       for i in range(self.num_blocks)]
        self.ln_out = tf.keras.layers.LayerNormalization(epsilon=1e-8, name="ln_out")

    def sequence_outputs(self, features, training=None):
        """Outputs at every position, ``(batch_size, n, embedding_dim)``; position t only
        sees the real items at positions <= t (padded positions give LN(0))."""
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self.ln_out(self._transform(emb, mask, training))

    def encode(self, emb, mask, features, training):
        return self.ln_out(self._transform(emb, mask, training)[:, -1:, :])

    def _transform(self, emb, mask, training):
        n = tf.shape(emb)[1]
        maskf = tf.cast(mask, emb.dtype)[..., None]
        if self.scale_embeddings:
            emb = emb * (self.dim ** 0.5)
        recency = tf.range(n - 1, -1, -1)  # 0 = most recent (last) position
        x = emb + self.positions(recency)[None]
        x = self.dropout(x, training=training) * maskf
        attention_mask = causal_padding_mask(mask)
        for block in self.blocks:
            x = block(x, attention_mask, maskf, training=training)
        return x


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for SASRec in SINE's Table 1 setting (D = 128; ML-1M dropout 0.2)."""
    return ml_collections.ConfigDict(dict(name="sasrec", embedding_dim=128, num_blocks=2,
                                          num_heads=1, dropout=0.2, scale_embeddings=True))


def default_loss_overrides() -> dict:
    """``config.loss`` fields this model needs: one user vector."""
    return dict(readout="single")


def build_tower(item_tower, info, cfg):
    """SASRec tower from ``config.model`` (fields: num_blocks, num_heads, dropout,
    scale_embeddings)."""
    d = default_model_config()
    return SASRecTower(item_tower, info.max_len,
                       num_blocks=cfg.get("num_blocks", d.num_blocks),
                       num_heads=cfg.get("num_heads", d.num_heads),
                       dropout=cfg.get("dropout", d.dropout),
                       scale_embeddings=cfg.get("scale_embeddings", d.scale_embeddings),
                       name="sasrec")
