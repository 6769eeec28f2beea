"""MCPRN: Mixture-Channel Purpose Routing Networks (Wang et al., IJCAI 2019).

Shoujin Wang, Liang Hu, Yan Wang, Quan Z. Sheng, Mehmet Orgun and Longbing Cao, "Modeling
Multi-Purpose Sessions for Next-Item Recommendations via Mixture-Channel Purpose Routing
Networks", IJCAI 2019, pp. 3771-3777, doi:10.24963/ijcai.2019/523. Baseline of SINE Table 1
(Tan et al., WSDM 2021). No public implementation is known; this one is written from the
sources below and every equation detail not stated there is marked INFERRED.

Sources consulted (stored copies found through the project's search tool; none of them
gives the equations):

* the abstract (IJCAI proceedings / mlanthology.org / UTS and Macquarie repositories, and
  the opening of the paper text on vdocuments.site): a *purpose routing network* detects the
  purpose(s) of each item and assigns it to the corresponding *channels*; a
  *purpose-specific recurrent network* models the dependencies between items within each
  channel; the channels together (mixture-channel) represent a multi-purpose session;
* the caption of the paper's Figure 2 (quoted by a liner.com review): MCPRN has two modules,
  the Purpose Router and the Mixture-Channel Recurrent Networks; its recurrent cell, the
  PSRU (purpose-specific recurrent unit), adds a *concentration gate* to a GRU-like cell to
  model purpose-specific transitions; the router *soft*-routes items to channels;
* SINE (Tan et al. 2021): MCPRN is an explicit prototype method whose number of interest
  vectors equals its number of purposes, which is why it cannot scale to thousands of
  concepts; SINE trains every baseline with sampled softmax, D = 128, n = 20;
* project REFERENCE-NOTES section 5 (recollection of the paper, flagged unverified): router
  = softmax with a small temperature over similarities to K purpose embeddings; a channel
  updates its state in proportion to the item's weight for its purpose; a candidate is
  scored by attending over channels with the candidate and trained with cross-entropy; K
  about 3.

Model (K channels = K purposes, hidden size D)::

    Purpose router (INFERRED form: dot product with K learned purpose embeddings p_k,
    no bias):
        m_tk = softmax_k( (e_t . p_k) / tau )          sum_k m_tk = 1 for every real item
        m_tk = 0 for padded positions
    PSRU of channel k (separate parameters per channel; GRU of Cho et al. 2014 plus the
    concentration gate; INFERRED exact form):
        r = sigma(W_r^k e_t + U_r^k h + b_r^k)
        z = sigma(W_z^k e_t + U_z^k h + b_z^k)
        h~ = tanh(W_h^k e_t + U_h^k (r * h) + b_h^k)
        g = m_tk * z                                   concentration gate
        h <- (1 - g) * h + g * h~
    Interests: the K final channel states h^1..h^K, returned as (batch_size, K, D).

The concentration gate makes an item with weight 0 for purpose k leave channel k untouched
and an item with weight 1 update it like a plain GRU; padded positions get weight 0 in every
channel, so they never change any state (initial states are zero, INFERRED) and the output
depends only on the real items.

Scoring (stated in REFERENCE-NOTES, form INFERRED): the paper attends over channels with the
candidate, ``alpha_k = softmax_k(h^k . e_v)``, and scores with the alpha-weighted channel
combination. That is exactly ``LossConfig(readout="label_aware", label_power=1.0)`` of
:mod:`mirec.models.losses` (softmax of channel . target with p = 1, then the weighted sum of
channels scores the positive and the sampled negatives), which :func:`default_loss_overrides`
selects for training. Deviation: the loss applies the *positive's* attention weights to the
negatives too (MIND-style), whereas per-candidate attention would give each negative its own
weights; and we train with sampled softmax (SINE's setting) instead of full cross-entropy. At
serving, mirec's retrieval scores an item by the max over channels (K*N retrieval), as for
every multi-interest model.

Hyper-parameters: K = 3 channels (REFERENCE-NOTES: "about 3"; the paper's exact best value
is not confirmed by the sources); temperature tau = 0.01 (INFERRED: the sources only say a
temperature makes routing close to hard; 0.01 is our choice); D = 128 from SINE.

Public API: :class:`PurposeRouter`, :class:`PSRUCell`, :class:`MCPRNTower` (with
``purpose_weights``), :func:`build_tower`, :func:`default_model_config`,
:func:`default_loss_overrides`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


@tf.keras.utils.register_keras_serializable(package="mirec")
class PurposeRouter(tf.keras.layers.Layer):
    """Soft assignment of items to K purposes: ``softmax_k(e . p_k / temperature)``.

    Input: ``emb`` ``(batch_size, seq_len, dim)`` and optional ``mask`` ``(batch_size,
    seq_len)``. Output: ``(batch_size, seq_len, num_purposes)``; rows of real items sum to 1,
    rows of padded items are 0.
    """

    def __init__(self, num_purposes, temperature=0.01, **kwargs):
        super().__init__(**kwargs)
        self.num_purposes = int(num_purposes)
        self.temperature = float(temperature)

    def build(self, input_shape):
        self.purposes = self.add_weight(name="purpose_embeddings",
                                        shape=(self.num_purposes, int(input_shape[-1])),
                                        initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, emb, mask=None):
        logits = tf.einsum("btd,kd->btk", emb, self.purposes) / self.temperature
        w = tf.nn.softmax(logits, axis=-1)
        if mask is not None:
            w = w * tf.cast(mask, w.dtype)[..., None]
        return w

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_purposes=self.num_purposes, temperature=self.temperature)
        return cfg


def _orthogonal_per_channel(shape, dtype=None):
    """One independent orthogonal ``(d, e)`` matrix per channel for a ``(K, d, e)`` kernel."""
    return tf.stack([tf.keras.initializers.Orthogonal()(shape[1:], dtype=dtype)
                     for _ in range(shape[0])])


@tf.keras.utils.register_keras_serializable(package="mirec")
class PSRUCell(tf.keras.layers.AbstractRNNCell):
    """K purpose-specific GRU channels with a concentration gate, run by ``tf.keras.layers.RNN``.

    Per step the input is ``[x_proj, m]`` of width ``K * 3 * units + K``: ``x_proj`` holds the
    per-channel input projections ``W^k e_t + b^k`` for (reset, update, candidate), computed
    for all steps at once outside the recurrence, and ``m`` the item's K purpose weights.
    The state (and output) is the flattened ``(K, units)`` channel states.
    """

    def __init__(self, num_channels, units, **kwargs):
        super().__init__(**kwargs)
        self.num_channels = int(num_channels)
        self.units = int(units)

    @property
    def state_size(self):
        return self.num_channels * self.units

    @property
    def output_size(self):
        return self.num_channels * self.units

    def build(self, input_shape):
        k, d = self.num_channels, self.units
        self.recurrent_gates = self.add_weight(name="recurrent_gates", shape=(k, d, 2 * d),
                                               initializer=_orthogonal_per_channel)
        self.recurrent_candidate = self.add_weight(name="recurrent_candidate", shape=(k, d, d),
                                                   initializer=_orthogonal_per_channel)
        self.built = True

    def call(self, inputs, states):
        k, d = self.num_channels, self.units
        h = tf.reshape(states[0], (-1, k, d))
        x = tf.reshape(inputs[:, :k * 3 * d], (-1, k, 3 * d))
        m = inputs[:, k * 3 * d:][..., None]  # (B, K, 1)
        hg = tf.einsum("bkd,kde->bke", h, self.recurrent_gates)
        r = tf.sigmoid(x[..., :d] + hg[..., :d])
        z = tf.sigmoid(x[..., d:2 * d] + hg[..., d:])
        cand = tf.tanh(x[..., 2 * d:] + tf.einsum("bkd,kde->bke", r * h, self.recurrent_candidate))
        g = m * z  # concentration gate
        h = h + g * (cand - h)
        out = tf.reshape(h, (-1, k * d))
        return out, [out]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_channels=self.num_channels, units=self.units)
        return cfg


class MCPRNTower(SequenceUserTower):
    """History -> K purpose channels' final states, ``(batch_size, num_channels, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n.
      num_channels: K, number of purposes = channels = interests.
      temperature: router softmax temperature tau.
      unroll: unroll the recurrence over the n steps (needs a static n; no faster on our
        2-core CPU benchmark, so off by default).

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = MCPRNTower(ItemTower(10, 8), max_len=4, num_channels=3)
      >>> tower({"history": tf.constant([[0, 1, 2, 3]])}).shape
      TensorShape([1, 3, 8])
    """

    def __init__(self, item_tower, max_len, num_channels=3, temperature=0.01, unroll=False,
                 **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_channels = int(num_channels)
        self.temperature = float(temperature)
        self.router = PurposeRouter(self.num_channels, self.temperature, name="purpose_router")
        self.cell = PSRUCell(self.num_channels, self.dim, name="psru")
        self.rnn = tf.keras.layers.RNN(self.cell, unroll=bool(unroll), name="mixture_channel_rnn")

    def build(self, input_shape):
        k, d = self.num_channels, self.dim
        self.input_kernel = self.add_weight(name="input_kernel", shape=(k, d, 3 * d),
                                            initializer="glorot_uniform")
        self.input_bias = self.add_weight(name="input_bias", shape=(k, 3 * d),
                                          initializer="zeros")
        super().build(input_shape)

    def purpose_weights(self, features):
        """``(batch_size, n, K)`` router weights of the history items (0 for padding)."""
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self.router(emb, mask=mask)

    def encode(self, emb, mask, features, training):
        k, d = self.num_channels, self.dim
        m = self.router(emb, mask=mask)  # (B, n, K)
        x = tf.einsum("btd,kde->btke", emb, self.input_kernel) + self.input_bias
        x = tf.reshape(x, (-1, tf.shape(emb)[1], k * 3 * d))
        h = self.rnn(tf.concat([x, m], axis=-1), training=training)  # (B, K * D)
        return tf.reshape(h, (-1, k, d))


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for MCPRN in SINE's Table 1 setting (D = 128, K = 3, tau = 0.01)."""
    return ml_collections.ConfigDict(dict(name="mcprn", embedding_dim=128, num_channels=3,
                                          temperature=0.01, unroll=False))


def default_loss_overrides() -> dict:
    """``config.loss`` fields: the paper's candidate attention over channels (p = 1)."""
    return dict(readout="label_aware", label_power=1.0)


def build_tower(item_tower, info, cfg):
    """MCPRN tower from ``config.model`` (fields: num_channels, temperature, unroll)."""
    d = default_model_config()
    return MCPRNTower(item_tower, info.max_len,
                      num_channels=cfg.get("num_channels", d.num_channels),
                      temperature=cfg.get("temperature", d.temperature),
                      unroll=cfg.get("unroll", d.unroll), name="mcprn")
