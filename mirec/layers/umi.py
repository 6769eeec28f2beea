"""UMI's layers: user-aware multi-interest learning (Chai et al., SIGIR 2022).

Zheng Chai, Zhihong Chen, Chenliang Li, Rong Xiao, Houyi Li, Jiawei Wu, Jingxu Chen and
Haihong Tang, "User-Aware Multi-Interest Learning for Candidate Matching in Recommenders",
SIGIR 2022. Official (incomplete) code: WHUIR/UMI (TF 1.x).

Notation: B batch, T history length, d item embedding width, K interests, C profile fields
of ``f`` units each (``e_u = [e_u^(1), ..., e_u^(C)]``, width ``d_u = C f``).

* :class:`UserGuidedAttention` (UGANet, Eq. 2): one weight per history item from the item
  and the user profile, ``a_i = sigmoid(w2 . ReLU(W1 [e_i, e_u] + b1) + b2)``.
* :class:`DualAttentionRouting` (DAR, Eq. 3-6 and Algorithm 1): capsule routing in which
  every behaviour is weighted both by its UGANet weight ``a_i`` and by its coupling
  ``c_ij = softmax_j(b_ij)``: ``v_j = squash(sum_i a_i c_ij W_j e_i)``; a separate ``W_j``
  per capsule; logits drawn from N(0, sigma^2) and *overwritten* (not accumulated) by
  ``b_ij = (W_j e_i) . v_j``; 3 iterations.
* :class:`InterestRefinement` (IR, Eq. 7-9): per interest, field weights
  ``d_k = sigmoid(MLP([v_k, e_u]))`` in ``(0, 1)^C``, re-weighted profile
  ``e_u^k = [d_k1 e_u^(1), ..., d_kC e_u^(C)]``, and ``o_k = MLP([e_u^k, v_k])``.

The harder-negatives training strategy (HN, Eq. 12-13) is a loss readout, not a layer:
``LossConfig(readout="max")`` in :mod:`mirec.models.losses`.

Choices the paper leaves open (taken from the official code):

* Gradients of the routing flow only through the last iteration: the projected behaviours
  ``W_j e_i`` AND the UGANet weights ``a_i`` are ``stop_gradient``-ed in the earlier
  iterations (``stop_gradient=True``), so ``a_i`` is trained through the last iteration.
  The routing logits carry no gradient.
* sigma = 1. The paper says Gaussian; the official code draws a truncated normal (std 1);
  we follow the paper (``tf.random.normal``). The official code (like MIND's) also draws
  fresh logits at inference, so two encodings of the same user differ and validation-based
  model selection chases noise (about +-0.01 HitRate@50 on MovieLens). In inference
  (``training`` false) we therefore draw them from a stateless generator with a fixed seed
  (``inference_seed``; None restores fresh draws): still a Gaussian start, but the same
  one for every evaluation, so a user's interests are reproducible.
* Eq. 9's MLP is ``[hidden/2 ReLU, hidden linear]`` (official: 16 then 32 on MovieLens): a
  ReLU on the last layer would confine the interests to the positive orthant.
* Padded history positions (mask False) get ``a_i = 0`` and ``c_ij = 0``.
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.capsule import squash


def _as_units(units):
    if units is None:
        return ()
    if isinstance(units, int):
        return (int(units),)
    return tuple(int(u) for u in units)


@tf.keras.utils.register_keras_serializable(package="mirec")
class UserGuidedAttention(tf.keras.layers.Layer):
    """UGANet (UMI Eq. 2): a profile-aware importance weight per history item.

    ``a_i = sigmoid(w2 . ReLU(W1 [e_i, e_u] + b1) + b2)``, 0 on padded positions.

    Input: ``items`` ``(batch_size, seq_len, item_dim)``, ``profile``
    ``(batch_size, profile_dim)`` or None (then ``a_i`` depends on the item only),
    ``mask`` ``(batch_size, seq_len)`` bool.
    Output: ``(batch_size, seq_len)`` weights in (0, 1).

    Example:
      >>> uga = UserGuidedAttention(hidden_units=8)
      >>> uga(tf.ones((2, 5, 4)), tf.ones((2, 6)), mask=tf.ones((2, 5), bool)).shape
      TensorShape([2, 5])
    """

    def __init__(self, hidden_units=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = int(hidden_units)
        self.hidden = tf.keras.layers.Dense(self.hidden_units, activation="relu", name="w1")
        self.score = tf.keras.layers.Dense(1, activation="sigmoid", name="w2")

    def call(self, items, profile=None, mask=None):
        x = items
        if profile is not None:
            t = tf.shape(items)[1]
            x = tf.concat([items, tf.tile(profile[:, None, :], [1, t, 1])], axis=-1)
        a = tf.squeeze(self.score(self.hidden(x)), axis=-1)
        if mask is not None:
            a = a * tf.cast(mask, a.dtype)
        return a

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(hidden_units=self.hidden_units)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class DualAttentionRouting(tf.keras.layers.Layer):
    """Dual-attention routing (UMI Eq. 3-6, Algorithm 1).

    With behaviours ``e_i`` (i = 1..T), item weights ``a_i`` and capsules j = 1..K:
    ``u_ij = W_j e_i`` (one ``W_j`` per capsule); ``b_ij`` drawn from N(0, init_stddev^2)
    (or given as ``initial_logits``); then ``iterations`` times:
    ``c_ij = softmax_j(b_ij)`` (0 for padded i), ``v_j = squash(sum_i a_i c_ij u_ij)`` and,
    except after the last one, ``b_ij = u_ij . v_j`` (overwritten).

    Args:
      num_interests: K.
      output_dim: width of ``W_j e_i`` (default: the input width, ``W_j`` is d x d).
      iterations: routing iterations t (paper: 3).
      init_stddev: sigma of the initial logits; 0 starts from zeros (deterministic).
      stop_gradient: gradients only through the last iteration (official code).
      seed: op seed of the initial-logit draw in training.
      inference_seed: seed of the stateless initial-logit draw in inference (None: fresh
        random draws as in training, like the official code).

    Input: ``x`` ``(batch_size, seq_len, dim)``; ``item_weights`` ``(batch_size, seq_len)``
    (UGANet's ``a_i``; None = all ones, i.e. plain routing); ``mask``
    ``(batch_size, seq_len)`` bool; ``initial_logits`` ``(batch_size, num_interests,
    seq_len)`` optional.
    Output: ``(batch_size, num_interests, output_dim)`` interest capsules ``v_j``; with
    ``return_coupling=True`` also the last iteration's ``c`` ``(batch_size, num_interests,
    seq_len)``.

    Example:
      >>> dar = DualAttentionRouting(num_interests=3)
      >>> dar(tf.ones((2, 5, 4)), item_weights=tf.ones((2, 5))).shape
      TensorShape([2, 3, 4])
    """

    def __init__(self, num_interests, output_dim=None, iterations=3, init_stddev=1.0,
                 stop_gradient=True, seed=None, inference_seed=0, **kwargs):
        super().__init__(**kwargs)
        self.num_interests = int(num_interests)
        self.output_dim = None if output_dim is None else int(output_dim)
        self.iterations = int(iterations)
        self.init_stddev = float(init_stddev)
        self.stop_gradient = bool(stop_gradient)
        self.seed = seed
        self.inference_seed = None if inference_seed is None else int(inference_seed)
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")

    def build(self, input_shape):
        dim = int(input_shape[-1])
        out = self.output_dim or dim
        self.bilinear = self.add_weight(name="bilinear", shape=(self.num_interests, dim, out),
                                        initializer="glorot_normal")
        super().build(input_shape)

    def call(self, x, item_weights=None, mask=None, initial_logits=None, return_coupling=False,
             training=None):
        batch, n = tf.shape(x)[0], tf.shape(x)[1]
        maskf = (tf.ones((batch, n), x.dtype) if mask is None else tf.cast(mask, x.dtype))
        a = maskf if item_weights is None else tf.cast(item_weights, x.dtype) * maskf
        u = tf.einsum("bnd,kde->bkne", x, self.bilinear)  # u_ij = W_j e_i, (B, K, T, out)
        u_fixed = tf.stop_gradient(u) if self.stop_gradient else u
        a_fixed = tf.stop_gradient(a) if self.stop_gradient else a
        if initial_logits is not None:
            b = tf.cast(initial_logits, x.dtype)
        elif self.init_stddev > 0:
            shape = (batch, self.num_interests, n)
            if not training and self.inference_seed is not None:
                b = tf.random.stateless_normal(shape, seed=[self.inference_seed, 0],
                                               stddev=self.init_stddev, dtype=x.dtype)
            else:
                b = tf.random.normal(shape, stddev=self.init_stddev, seed=self.seed,
                                     dtype=x.dtype)
        else:
            b = tf.zeros((batch, self.num_interests, n), x.dtype)
        b = tf.stop_gradient(b)
        v = c = None
        for it in range(self.iterations):
            last = it == self.iterations - 1
            c = tf.nn.softmax(b, axis=1) * maskf[:, None, :]  # over capsules
            weight = c * (a if last else a_fixed)[:, None, :]  # a_i c_ij
            v = squash(tf.einsum("bkn,bkne->bke", weight, u if last else u_fixed))
            if not last:
                b = tf.einsum("bkne,bke->bkn", u_fixed, v)  # overwrite, Algorithm 1 line 8
        return (v, c) if return_coupling else v

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_interests=self.num_interests, output_dim=self.output_dim,
                   iterations=self.iterations, init_stddev=self.init_stddev,
                   stop_gradient=self.stop_gradient, seed=self.seed,
                   inference_seed=self.inference_seed)
        return cfg


@tf.keras.utils.register_keras_serializable(package="mirec")
class InterestRefinement(tf.keras.layers.Layer):
    """Interest refinement (UMI Eq. 7-9): each interest re-weights the profile fields.

    ``d_k = sigmoid(W_b ReLU(W_a [v_k, e_u] + b_a) + b_b)`` (C weights),
    ``e_u^k = [d_k1 e_u^(1), ..., d_kC e_u^(C)]``, ``o_k = MLP([e_u^k, v_k])`` with
    ``hidden_units`` ReLU layers and a linear output of ``output_dim``.

    Args:
      num_fields: C, the number of profile fields (``profile`` is their concatenation, all
        of the same width).
      output_dim: width of ``o_k`` (the item embedding width, so that ``o_k . e_t`` exists).
      attention_units: hidden width of Eq. 7's MLP (paper: 8 on MovieLens).
      hidden_units: hidden ReLU widths of Eq. 9's MLP (official: output_dim / 2).
      use_attention: False skips Eq. 7-8 (``d_k = 1``: the static profile concatenated to
        every interest, as MIND does) — UMI w/o IR.

    Input: ``interests`` ``(batch_size, num_interests, dim)``, ``profile``
    ``(batch_size, num_fields * field_dim)`` or None (then ``o_k = MLP(v_k)``).
    Output: ``(batch_size, num_interests, output_dim)``; with ``return_weights=True`` also
    ``d`` ``(batch_size, num_interests, num_fields)`` (None without profile/attention).

    Example:
      >>> ir = InterestRefinement(num_fields=3, output_dim=4)
      >>> ir(tf.ones((2, 3, 4)), tf.ones((2, 24))).shape
      TensorShape([2, 3, 4])
    """

    def __init__(self, num_fields, output_dim, attention_units=8, hidden_units=(16,),
                 use_attention=True, **kwargs):
        super().__init__(**kwargs)
        self.num_fields = int(num_fields)
        self.output_dim = int(output_dim)
        self.attention_units = int(attention_units)
        self.hidden_units = _as_units(hidden_units)
        self.use_attention = bool(use_attention)
        if self.use_attention and self.num_fields > 0:
            self.att_hidden = tf.keras.layers.Dense(self.attention_units, activation="relu",
                                                    name="field_attention_hidden")
            self.att_out = tf.keras.layers.Dense(self.num_fields, activation="sigmoid",
                                                 name="field_attention_out")
        self.mlp = [tf.keras.layers.Dense(u, activation="relu", name=f"refine_{i}")
                    for i, u in enumerate(self.hidden_units)]
        self.out = tf.keras.layers.Dense(self.output_dim, name="refine_out")

    def call(self, interests, profile=None, return_weights=False):
        d = None
        if profile is None or self.num_fields == 0:
            h = interests
        else:
            k = tf.shape(interests)[1]
            prof = tf.tile(profile[:, None, :], [1, k, 1])  # (B, K, C f)
            if self.use_attention:
                d = self.att_out(self.att_hidden(tf.concat([interests, prof], -1)))  # (B, K, C)
                if profile.shape[-1] % self.num_fields:
                    raise ValueError(f"profile width {profile.shape[-1]} is not a multiple of "
                                     f"num_fields={self.num_fields}")
                field_dim = profile.shape[-1] // self.num_fields
                fields = tf.reshape(prof, [tf.shape(prof)[0], k, self.num_fields, field_dim])
                prof = tf.reshape(fields * d[..., None], tf.shape(prof))  # Eq. 8
            h = tf.concat([prof, interests], -1)  # Eq. 9 input [e_u^k, v_k]
        for layer in self.mlp:
            h = layer(h)
        o = self.out(h)
        return (o, d) if return_weights else o

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_fields=self.num_fields, output_dim=self.output_dim,
                   attention_units=self.attention_units, hidden_units=self.hidden_units,
                   use_attention=self.use_attention)
        return cfg


__all__ = ["UserGuidedAttention", "DualAttentionRouting", "InterestRefinement"]
