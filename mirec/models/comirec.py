"""ComiRec: controllable multi-interest recommendation (Cen et al., KDD 2020).

Yukuo Cen, Jianwei Zhang, Xu Zou, Chang Zhou, Hongxia Yang and Jie Tang, "Controllable
Multi-Interest Framework for Recommendation", KDD 2020 (arXiv:2005.09347). Official code
THUDM/ComiRec (TF 1.x). Multi-interest baseline of MGNM, MIRACLE and UMI.

Two multi-interest extractors, both returning K interests ``(batch_size, K, D)``:

* **ComiRec-DR** (dynamic routing, :class:`ComiRecDRTower`): behaviour-to-interest routing
  with a separate bilinear map per capsule, ``u_kt = S_k e_t``; routing logits start at 0;
  3 iterations of ``c_kt = softmax_k(b_kt)`` (padded items get 0),
  ``v_k = squash(sum_t c_kt u_kt)``, ``b_kt += u_kt . v_k``; gradients only through the
  last iteration (:class:`mirec.layers.capsule.BehaviorToInterestRouting` with
  ``shared_bilinear=False, init_stddev=0, accumulate=True, dynamic_interests=False``).
* **ComiRec-SA** (self-attention, :class:`ComiRecSATower`):
  ``A = softmax_t(W2^T tanh(W1 (E + P)))`` with W1 of width ``4 D`` and K columns in W2
  (one attention head per interest, padded positions masked), interests ``V = A^T E``: the
  attention sees item + learned position embeddings, the pooled values are the item
  embeddings WITHOUT positions (official code)
  (:class:`mirec.layers.attention.SelfAttentivePooling`).

Training: the interest with the largest inner product with the target is used for the
positive and the sampled negatives (``LossConfig(readout="argmax")``, see
:func:`default_loss_overrides`); serving: K*N retrieval merged by score (mirec.retrieval).

Choices and what they rest on:

* Official settings: K = 4, 3 routing iterations, SA hidden width 4D. The official D is 64;
  mirec's D comes from the item tower (SINE-style comparisons use 128).
* DR weights: the official code's default (``bilinear_type=2``) has one matrix per position
  AND capsule (``[1, n, K*D, D]``); we use one matrix per capsule (the paper's description),
  which does not tie the model to absolute positions. No dynamic K, no final ReLU layer
  (the official code's optional ``relu_layer`` is off by default).
* SA positions: ComiRec right-pads histories, so position 0 is the oldest item; mirec
  left-pads (most recent last), so we index positions from the end (0 = most recent). With
  full-length histories this only relabels positions; shorter histories get the same
  output whatever their amount of padding.
* SA's W1 and W2 are bias-free (the shared :class:`SelfAttentivePooling`); the official
  dense layers carry biases (a bias on W2 cancels in the softmax; W1's does not).
* Not included: the controllable diversity re-rank (``coef`` lambda) at serving.

Public API: :class:`ComiRecDRTower`, :class:`ComiRecSATower`, :func:`build_tower`,
:func:`default_model_config`, :func:`default_loss_overrides`.
"""

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.attention import SelfAttentivePooling
from mirec.layers.capsule import BehaviorToInterestRouting
from mirec.towers.user import SequenceUserTower

VARIANTS = ("dr", "sa")


class ComiRecDRTower(SequenceUserTower):
    """History -> dynamic-routing capsules, ``(batch_size, num_interests, embedding_dim)``.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = ComiRecDRTower(ItemTower(10, 8), max_len=4, num_interests=2)
      >>> tower({"history": tf.constant([[0, 1, 2, 3]])}).shape
      TensorShape([1, 2, 8])
    """

    def __init__(self, item_tower, max_len, num_interests=4, iterations=3, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_interests = int(num_interests)
        self.routing = BehaviorToInterestRouting(
            self.num_interests, iterations=iterations, shared_bilinear=False, init_stddev=0.0,
            accumulate=True, dynamic_interests=False, name="routing")

    def encode(self, emb, mask, features, training):
        return self.routing(emb, mask=mask, training=training)


class ComiRecSATower(SequenceUserTower):
    """History -> K self-attention heads, ``(batch_size, num_interests, embedding_dim)``.

    Args:
      hidden_factor: W1 width as a multiple of D (official: 4).
      use_positions: add learned position embeddings to the attention input (official: on).

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = ComiRecSATower(ItemTower(10, 8), max_len=4, num_interests=2)
      >>> tower({"history": tf.constant([[0, 1, 2, 3]])}).shape
      TensorShape([1, 2, 8])
    """

    def __init__(self, item_tower, max_len, num_interests=4, hidden_factor=4,
                 use_positions=True, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_interests = int(num_interests)
        self.use_positions = bool(use_positions)
        self.positions = (tf.keras.layers.Embedding(self.max_len, self.dim,
                                                    name="position_embedding")
                          if self.use_positions else None)
        self.pooling = SelfAttentivePooling(int(hidden_factor) * self.dim,
                                            num_heads=self.num_interests, name="attention")

    def encode(self, emb, mask, features, training):
        keys = emb
        if self.positions is not None:
            n = tf.shape(emb)[1]
            keys = emb + self.positions(tf.range(n - 1, -1, -1))[None]  # 0 = most recent
        return self.pooling(keys, mask=mask, values=emb)


def default_model_config(variant: str = "dr") -> ml_collections.ConfigDict:
    """``config.model`` for ComiRec-DR or -SA with the official defaults (K = 4) and D = 128."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    cfg = dict(name=f"comirec_{variant}", variant=variant, embedding_dim=128, num_interests=4)
    if variant == "dr":
        cfg.update(iterations=3)
    else:
        cfg.update(hidden_factor=4, use_positions=True)
    return ml_collections.ConfigDict(cfg)


def default_loss_overrides() -> dict:
    """``config.loss`` fields: hard (argmax) interest selection by the target."""
    return dict(readout="argmax")


def build_tower(item_tower, info, cfg):
    """ComiRec tower from ``config.model``.

    The variant is ``cfg.variant`` ("dr" or "sa"), else taken from ``cfg.name``
    (``comirec_sa`` -> SA, anything else -> DR). Fields: num_interests, iterations (DR),
    hidden_factor and use_positions (SA).
    """
    variant = cfg.get("variant", None) or ("sa" if str(cfg.get("name", "")).endswith("sa")
                                           else "dr")
    d = default_model_config(variant)
    if variant == "dr":
        return ComiRecDRTower(item_tower, info.max_len,
                              num_interests=cfg.get("num_interests", d.num_interests),
                              iterations=cfg.get("iterations", d.iterations), name="comirec_dr")
    return ComiRecSATower(item_tower, info.max_len,
                          num_interests=cfg.get("num_interests", d.num_interests),
                          hidden_factor=cfg.get("hidden_factor", d.hidden_factor),
                          use_positions=cfg.get("use_positions", d.use_positions),
                          name="comirec_sa")
