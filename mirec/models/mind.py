"""MIND: Multi-Interest Network with Dynamic routing (Li et al., CIKM 2019).

Behaviour-to-interest routing with one shared bilinear matrix and Gaussian-initialised,
accumulated routing logits; dynamic interest number; profile concatenated to every capsule
then a 2-layer ReLU MLP (when ``mlp_units`` is set); training with label-aware attention
(``LossConfig(readout="label_aware", label_power=p)``) and serving each interest separately.
"""

import mirec  # noqa: F401
import tensorflow as tf

from mirec.layers.capsule import BehaviorToInterestRouting
from mirec.towers.user import SequenceUserTower


class MINDTower(SequenceUserTower):
    """History -> ``(batch_size, num_interests, embedding_dim)`` interest capsules."""

    def __init__(self, item_tower, max_len, num_interests=4, iterations=3,
                 dynamic_interests=True, init_stddev=1.0, mlp_units=(), **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_interests = int(num_interests)
        self.routing = BehaviorToInterestRouting(
            num_interests, iterations=iterations, shared_bilinear=True,
            init_stddev=init_stddev, accumulate=True, dynamic_interests=dynamic_interests)
        self.mlp = [tf.keras.layers.Dense(u, activation="relu") for u in mlp_units]
        self.out = tf.keras.layers.Dense(self.dim) if (mlp_units or self.profile_vocab) else None

    def encode(self, emb, mask, features, training):
        caps = self.routing(emb, mask=mask, training=training)  # (B, K, D)
        prof = self.profile(features)
        h = caps
        if prof is not None:
            k = tf.shape(caps)[1]
            h = tf.concat([h, tf.tile(prof[:, None, :], [1, k, 1])], -1)
        for layer in self.mlp:
            h = layer(h)
        if self.out is not None:
            h = self.out(h)
        return h


def build_tower(item_tower, info, cfg):
    """MIND tower from ``config.model`` (num_interests, iterations, dynamic_interests,
    init_stddev, mlp_units, use_profile)."""
    vocab = info.profile_vocab if cfg.get("use_profile", False) else None
    return MINDTower(item_tower, info.max_len, num_interests=cfg.get("num_interests", 4),
                     iterations=cfg.get("iterations", 3),
                     dynamic_interests=cfg.get("dynamic_interests", True),
                     init_stddev=cfg.get("init_stddev", 1.0),
                     mlp_units=tuple(cfg.get("mlp_units", ())), profile_vocab=vocab,
                     profile_dim=cfg.get("profile_dim", 8), name="mind")
