"""The mixture-of-experts text adaptor of UniSRec (Hou et al., KDD 2022) and MIRACLE (Eq. 2-4).

Each expert whitens a frozen text vector ``t`` (BERT [CLS], 768-d) with a learned centre and a
linear map, ``expert_k(t) = (t - b_k) W_k``; a softmax gate over the G experts mixes them:
``x = sum_k g_k(t) expert_k(t)``, ``g(t) = softmax(t W_g + b_g)``.

The official UniSRec/MIRACLE code adds dropout on ``t`` before the experts and, in training,
Gaussian gate noise with a learned scale (``noisy_gating=True``).
"""

import mirec  # noqa: F401
import tensorflow as tf


class MoEAdaptor(tf.keras.layers.Layer):
    """``(..., F)`` text features -> ``(..., output_dim)`` item representations.

    Args:
      output_dim: d of the adapted vectors (MIRACLE 300, UniSRec 300).
      num_experts: G (8 in both papers).
      dropout: dropout on the input features (official code 0.2-0.3; paper silent: 0).
      noisy_gating: add N(0, 1) * softplus(t W_n) to the gate logits in training (official).
    """

    def __init__(self, output_dim, num_experts=8, dropout=0.0, noisy_gating=False, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = int(output_dim)
        self.num_experts = int(num_experts)
        self.dropout = float(dropout)
        self.noisy_gating = bool(noisy_gating)
        self._drop = tf.keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        f = int(input_shape[-1])
        g, d = self.num_experts, self.output_dim
        self.centres = self.add_weight(name="centres", shape=(g, f), initializer="zeros")
        self.experts = self.add_weight(name="experts", shape=(g, f, d),
                                       initializer=tf.keras.initializers.RandomNormal(0, 0.02))
        self.gate = self.add_weight(name="gate", shape=(f, g), initializer="zeros")
        self.gate_bias = self.add_weight(name="gate_bias", shape=(g,), initializer="zeros")
        if self.noisy_gating:
            self.noise = self.add_weight(name="noise", shape=(f, g), initializer="zeros")
        super().build(input_shape)

    def gates(self, t, training=False):
        """``(..., G)`` mixing weights."""
        logits = tf.tensordot(t, self.gate, 1) + self.gate_bias
        if self.noisy_gating and training:
            scale = tf.nn.softplus(tf.tensordot(t, self.noise, 1))
            logits = logits + tf.random.normal(tf.shape(logits)) * scale
        return tf.nn.softmax(logits, -1)

    def call(self, t, training=False):
        t = self._drop(t, training=training)
        # expert_k(t) = (t - b_k) W_k = t W_k - b_k W_k, for all k at once, as ONE matmul
        # (N, F) x (F, G*d): an einsum here has an (N, G, F, d) gradient (16 GB for a 4k-item
        # table) and is ~300x slower.
        g, f, d = self.num_experts, tf.shape(t)[-1], self.output_dim
        w = tf.reshape(tf.transpose(self.experts, (1, 0, 2)), (f, g * d))
        lead = tf.shape(t)[:-1]
        xw = tf.reshape(tf.matmul(tf.reshape(t, (-1, f)), w), tf.concat([lead, [g, d]], 0))
        bw = tf.einsum("gf,gfd->gd", self.centres, self.experts)
        experts = xw - bw  # (..., G, d)
        g = self.gates(t, training)
        return tf.reduce_sum(g[..., None] * experts, -2)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(output_dim=self.output_dim, num_experts=self.num_experts,
                   dropout=self.dropout, noisy_gating=self.noisy_gating)
        return cfg
