"""Attention blocks shared by several papers."""

import mirec  # noqa: F401
import tensorflow as tf

NEG_INF = -1e9


def masked_softmax(logits, mask, axis=-1):
    """Softmax over ``axis`` that gives exactly 0 weight where ``mask`` is False.

    Rows whose mask is all False get all-zero weights (not NaN).
    """
    mask = tf.cast(mask, tf.bool)
    logits = tf.where(mask, logits, tf.cast(NEG_INF, logits.dtype))
    w = tf.nn.softmax(logits, axis=axis)
    return w * tf.cast(mask, w.dtype)


@tf.keras.utils.register_keras_serializable(package="mirec")
class SelfAttentivePooling(tf.keras.layers.Layer):
    """Self-attentive pooling (Lin et al. 2017): ``a = softmax_t(w2 . tanh(W1 x_t))``.

    With ``num_heads = H`` it returns H pooled vectors (ComiRec-SA's interests; SINE's
    Eq. 1 with H = 1).

    Input: ``x`` of shape ``(batch_size, seq_len, dim)`` and ``mask`` ``(batch_size, seq_len)``.
    Output: ``(batch_size, num_heads, dim)`` pooled vectors (``return_weights=True`` also
    returns the ``(batch_size, num_heads, seq_len)`` weights). ``values`` (same shape as x)
    can be pooled instead of x (e.g. attend with positions, pool without them).

    Example:
      >>> pool = SelfAttentivePooling(hidden_units=8, num_heads=2)
      >>> pool(tf.ones((3, 5, 4)), mask=tf.ones((3, 5), bool)).shape
      TensorShape([3, 2, 4])
    """

    def __init__(self, hidden_units, num_heads=1, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = int(hidden_units)
        self.num_heads = int(num_heads)
        self.w1 = tf.keras.layers.Dense(self.hidden_units, activation="tanh", use_bias=False,
                                        name="w1")
        self.w2 = tf.keras.layers.Dense(self.num_heads, use_bias=False, name="w2")

    def call(self, x, mask=None, values=None, return_weights=False):
        logits = self.w2(self.w1(x))  # (B, n, H)
        logits = tf.transpose(logits, [0, 2, 1])  # (B, H, n)
        if mask is None:
            weights = tf.nn.softmax(logits, axis=-1)
        else:
            weights = masked_softmax(logits, mask[:, None, :], axis=-1)
        pooled = tf.matmul(weights, x if values is None else values)
        return (pooled, weights) if return_weights else pooled

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(hidden_units=self.hidden_units, num_heads=self.num_heads)
        return cfg
