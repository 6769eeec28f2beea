"""Capsule routing shared by MIND, ComiRec-DR, UMI and MGNM."""

import mirec  # noqa: F401
import tensorflow as tf


def squash(z, axis=-1, epsilon=1e-9):
    """Capsule squash: ``|z|^2 / (1 + |z|^2) * z / |z|``."""
    sq = tf.reduce_sum(tf.square(z), axis=axis, keepdims=True)
    return sq / (1.0 + sq) * z / tf.sqrt(sq + epsilon)


@tf.keras.utils.register_keras_serializable(package="mirec")
class BehaviorToInterestRouting(tf.keras.layers.Layer):
    """Behaviour-to-interest dynamic routing (MIND, Li et al. 2019; ComiRec-DR, Cen et al. 2020).

    For behaviours ``e_i`` (i = 1..n) and capsules j = 1..K:
    ``u_ij = S_j e_i`` (MIND: one shared bilinear ``S``; ComiRec-DR: one ``S_j`` per capsule);
    routing logits ``b_ij`` start at N(0, init_stddev^2) (MIND; a fresh draw in training, a
    fixed seeded draw at inference) or 0 (ComiRec);
    each iteration: ``c_ij = softmax_j(b_ij)`` (padded behaviours get 0),
    ``v_j = squash(sum_i c_ij u_ij)``, and ``b_ij += u_ij . v_j`` (or ``=`` when
    ``accumulate=False``, UMI). Gradients flow only through the last iteration's ``u_ij``
    (``stop_gradient`` before), as in the official MIND/ComiRec code.

    With ``dynamic_interests=True`` (MIND), a user with m behaviours gets
    ``K_u = max(1, min(K, floor(log2 m)))`` interests; the unused capsule slots repeat the
    first capsule, so max-over-interests scoring is unchanged by them.

    Input: ``x`` ``(batch_size, seq_len, dim)``, ``mask`` ``(batch_size, seq_len)``.
    Output: ``(batch_size, num_interests, output_dim)``.
    """

    def __init__(self, num_interests, output_dim=None, iterations=3, shared_bilinear=True,
                 init_stddev=1.0, accumulate=True, dynamic_interests=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_interests = int(num_interests)
        self.output_dim = output_dim
        self.iterations = int(iterations)
        self.shared_bilinear = bool(shared_bilinear)
        self.init_stddev = float(init_stddev)
        self.accumulate = bool(accumulate)
        self.dynamic_interests = bool(dynamic_interests)
        self.seed = seed

    def build(self, input_shape):
        dim = int(input_shape[-1])
        out = int(self.output_dim or dim)
        self._out = out
        k = 1 if self.shared_bilinear else self.num_interests
        self.bilinear = self.add_weight(
            name="bilinear", shape=(k, dim, out), initializer="glorot_normal")
        super().build(input_shape)

    def call(self, x, mask=None, training=None):
        batch, n = tf.shape(x)[0], tf.shape(x)[1]
        k = self.num_interests
        if mask is None:
            mask = tf.ones((batch, n), tf.bool)
        maskf = tf.cast(mask, x.dtype)
        # Shared bilinear (MIND): u_i = S e_i is the same for every capsule, so keep it
        # (B, n, out) and broadcast; per-capsule weights (ComiRec-DR): u is (B, K, n, out).
        if self.shared_bilinear:
            u = tf.einsum("bnd,de->bne", x, self.bilinear[0])
        else:
            u = tf.einsum("bnd,kde->bkne", x, self.bilinear)
        u_const = tf.stop_gradient(u)
        if self.init_stddev > 0 and training:
            b = tf.random.normal((batch, k, n), stddev=self.init_stddev, seed=self.seed,
                                 dtype=x.dtype)
        elif self.init_stddev > 0:
            # Inference: a fixed draw, so that evaluating the same weights twice gives the same
            # interests (MIND's fresh draw at every call made test metrics vary by ~0.3 points).
            b = tf.random.stateless_normal((batch, k, n), seed=[self.seed or 0, 0],
                                           stddev=self.init_stddev, dtype=x.dtype)
        else:
            b = tf.zeros((batch, k, n), x.dtype)
        agg = "bkn,bne->bke" if self.shared_bilinear else "bkn,bkne->bke"
        agree = "bne,bke->bkn" if self.shared_bilinear else "bkne,bke->bkn"
        v = None
        for it in range(self.iterations):
            c = tf.nn.softmax(b, axis=1) * maskf[:, None, :]  # over capsules
            uu = u if it == self.iterations - 1 else u_const
            v = squash(tf.einsum(agg, c, uu))
            if it < self.iterations - 1:
                delta = tf.einsum(agree, u_const, v)
                b = b + delta if self.accumulate else delta
        if self.dynamic_interests:
            m = tf.reduce_sum(maskf, axis=1)
            ku = tf.clip_by_value(tf.floor(tf.math.log(tf.maximum(m, 1.0)) / tf.math.log(2.0)),
                                  1.0, float(k))
            active = tf.range(k, dtype=x.dtype)[None, :] < ku[:, None]  # (B, K)
            v = tf.where(active[..., None], v, v[:, :1, :])
        return v

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_interests=self.num_interests, output_dim=self.output_dim,
                   iterations=self.iterations, shared_bilinear=self.shared_bilinear,
                   init_stddev=self.init_stddev, accumulate=self.accumulate,
                   dynamic_interests=self.dynamic_interests, seed=self.seed)
        return cfg
