"""GRU4Rec: session-based recommendation with recurrent neural networks.

Hidasi, Karatzoglou, Baltrunas & Tikk, "Session-based Recommendations with Recurrent Neural
Networks", ICLR 2016 (arXiv:1511.06939). Baseline of SINE Table 1 (Tan et al., WSDM 2021).

Structure (one interest, K = 1)::

    x_t = E[i_t]                                   item embedding (shared item tower), (D,)
    r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)       reset gate
    z_t = sigma(W_z x_t + U_z h_{t-1} + b_z)       update gate
    h~_t = tanh(W_h x_t + r_t * (U_h h_{t-1}) + b_h)
    h_t = z_t * h_{t-1} + (1 - z_t) * h~_t         (Keras convention for z)
    user vector u = h_n                            final state, hidden size = D

``score(item) = u . E[item]`` against the shared item table.

Choices and what they rest on:

* Input = the shared item embedding, hidden size = D, output = the final state. This is the
  matching-style adaptation of ComiRec/SINE's code base (``Model_GRU4REC``), not Hidasi's
  one-hot input with a separate output layer; it is what SINE's Table 1 compares against
  (same D = 128, sampled softmax) (REFERENCE-NOTES section 5).
* Padding: histories are left-padded with 0 and most recent last. The GRU receives the
  padding mask, so padded steps carry the state forward unchanged: the initial zero state
  reaches the first real item untouched and the user vector depends only on the real items
  (a fully padded row gives the zero vector).
* ``num_layers`` = 1 (Hidasi et al. found one GRU layer best). ``dropout`` (default 0.0)
  is applied to the input embeddings and to the final state during training; Hidasi et al.
  tuned dropout per loss (no dropout was our reading for the cross-entropy setting, which
  the sampled-softmax objective replaces). Treat it as a hyper-parameter.
* Not reproduced: session-parallel mini-batches and the TOP1/BPR ranking losses; we train
  with the shared multi-interest objective (``mirec.models.losses``, sampled softmax with
  readout ``"single"``), as SINE does for every baseline.

Public API: :class:`GRU4RecTower`, :func:`build_tower`, :func:`default_model_config`,
:func:`default_loss_overrides`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.towers.user import SequenceUserTower


class GRU4RecTower(SequenceUserTower):
    """History -> GRU final state, shape ``(batch_size, 1, embedding_dim)``.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower`.
      max_len: history length n.
      num_layers: stacked GRU layers (all with D units).
      dropout: dropout rate on the GRU input and on the user vector (training only).

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = GRU4RecTower(ItemTower(10, 8), max_len=4)
      >>> tower({"history": tf.constant([[0, 0, 3, 4]])}).shape
      TensorShape([1, 1, 8])
    """

    def __init__(self, item_tower, max_len, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_layers = int(num_layers)
        self.dropout_rate = float(dropout)
        self.grus = [
            tf.keras.layers.GRU(self.dim, return_sequences=i < self.num_layers - 1,
                                name=f"gru_{i}")
            for i in range(self.num_layers)
        ]
        self.dropout = tf.keras.layers.Dropout(self.dropout_rate)

    def encode(self, emb, mask, features, training):
        h = self.dropout(emb, training=training)
        for gru in self.grus:
            h = gru(h, mask=mask, training=training)
        h = self.dropout(h, training=training)
        return h[:, None, :]


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` for GRU4Rec in SINE's Table 1 setting (D = 128)."""
    return ml_collections.ConfigDict(dict(name="gru4rec", embedding_dim=128, num_layers=1,
                                          dropout=0.0))


def default_loss_overrides() -> dict:
    """``config.loss`` fields this model needs: one user vector."""
    return dict(readout="single")


def build_tower(item_tower, info, cfg):
    """GRU4Rec tower from ``config.model`` (fields: num_layers, dropout)."""
    d = default_model_config()
    return GRU4RecTower(item_tower, info.max_len,
                        num_layers=cfg.get("num_layers", d.num_layers),
                        dropout=cfg.get("dropout", d.dropout), name="gru4rec")
