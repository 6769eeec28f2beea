"""UMI: user-aware multi-interest learning for candidate matching (Chai et al., SIGIR 2022).

The user tower composes the three layers of :mod:`mirec.layers.umi`:

1. profile embeddings ``e_u`` (one ``profile_dim``-wide table per field; MovieLens: gender,
   age, occupation, 8 units each) and behaviour embeddings ``e_i`` (the shared item tower);
2. DAR: UGANet weights ``a_i`` (Eq. 2) and dual-attention routing into K capsules
   ``v_k`` (Eq. 3-6);
3. IR: per-interest profile field weights ``d_k`` and the refined interests
   ``o_u^k = MLP([e_u^k, v_k])`` (Eq. 7-9), of the item embedding width.

Training with the harder-negatives strategy (HN, Eq. 12-13) is
``LossConfig(readout="max")``: the positive and every sampled negative each pick their own
best interest; without HN (``readout="argmax"``) all candidates are scored with the interest
chosen by the positive (MIND/ComiRec). Serving: each interest retrieves, score = max over
interests (Eq. 1), which :mod:`mirec.evaluation` does for every multi-interest tower.

Ablations (Table 3): ``use_dar=False`` (w/o DAR) drops the UGANet weights (``a_i = 1``:
plain capsule routing with the same per-capsule ``W_j``, Gaussian init and overwritten
logits); ``use_ir=False`` (w/o IR) drops Eq. 7-8 (``d_k = 1``: the static profile is
concatenated to every capsule before the same MLP, as in MIND); w/o HN is the ``argmax``
readout.

Paper setting on MovieLens (:func:`default_model_config`): K = 3, T = 10, ``o_u^k`` width 32
(= item embedding width), attention MLP widths 8 (Eq. 2 and 7), Eq. 9 MLP [16 ReLU, 32
linear] (official code), 3 routing iterations, sigma = 1. Alibaba: width 128, attention
64, K = 6, T = 50.

Public API: :class:`UMITower`, :func:`build_tower`, :func:`default_model_config`,
:func:`default_loss_overrides`.
"""

from __future__ import annotations

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.umi import DualAttentionRouting, InterestRefinement, UserGuidedAttention
from mirec.towers.user import SequenceUserTower


class UMITower(SequenceUserTower):
    """History + profile -> ``(batch_size, num_interests, embedding_dim)`` refined interests.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower` (its width is ``d_i`` and the
        width of the output interests).
      max_len: T.
      num_interests: K.
      iterations: routing iterations (3).
      init_stddev: sigma of the routing-logit initialisation.
      inference_seed: fixed seed of the initial logits at inference (None: fresh draws).
      attention_units: UGANet hidden width (Eq. 2).
      refine_attention_units: hidden width of Eq. 7's MLP.
      refine_units: hidden ReLU widths of Eq. 9's MLP (default: ``embedding_dim // 2``).
      use_dar: UGANet weights in the routing (False: w/o DAR).
      use_ir: profile field attention per interest (False: w/o IR).
      profile_vocab, profile_dim: the profile fields (see :class:`SequenceUserTower`).
        Without profile fields UGANet sees the items only and IR is ``o_k = MLP(v_k)``.

    Example:
      >>> from mirec.towers.item import ItemTower
      >>> tower = UMITower(ItemTower(10, 8), max_len=4, num_interests=2,
      ...                  profile_vocab={"gender": 3})
      >>> tower({"history": tf.constant([[0, 1, 2, 3]]), "gender": tf.constant([1])}).shape
      TensorShape([1, 2, 8])
    """

    def __init__(self, item_tower, max_len, num_interests=3, iterations=3, init_stddev=1.0,
                 inference_seed=0, attention_units=8, refine_attention_units=8,
                 refine_units=None, use_dar=True, use_ir=True, **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        self.num_interests = int(num_interests)
        self.use_dar = bool(use_dar)
        self.use_ir = bool(use_ir)
        if refine_units is None:
            refine_units = (max(1, self.dim // 2),)
        self.uganet = (UserGuidedAttention(attention_units, name="uganet")
                       if self.use_dar else None)
        self.routing = DualAttentionRouting(self.num_interests, iterations=iterations,
                                            init_stddev=init_stddev,
                                            inference_seed=inference_seed, name="dar")
        self.refinement = InterestRefinement(
            num_fields=len(self.profile_vocab), output_dim=self.dim,
            attention_units=refine_attention_units, hidden_units=refine_units,
            use_attention=self.use_ir, name="interest_refinement")

    def encode(self, emb, mask, features, training):
        return self.explain_encoded(emb, mask, features, training)["interests"]

    def explain_encoded(self, emb, mask, features, training=False):
        prof = self.profile(features)
        a = self.uganet(emb, prof, mask=mask) if self.uganet is not None else None
        caps, coupling = self.routing(emb, item_weights=a, mask=mask, return_coupling=True,
                                      training=training)
        out, d = self.refinement(caps, prof, return_weights=True)
        return {"interests": out, "item_weights": a, "capsules": caps, "coupling": coupling,
                "field_weights": d}

    def explain(self, features):
        """The intermediate quantities of one forward pass (for Figures 3-5 style analysis).

        Returns a dict: ``interests`` ``(B, K, d)`` (o_u^k), ``item_weights`` ``(B, T)``
        (UGANet's a_i; None w/o DAR), ``capsules`` ``(B, K, d)`` (v_k), ``coupling``
        ``(B, K, T)`` (last c_ij), ``field_weights`` ``(B, K, C)`` (d_k; None w/o IR).
        """
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self.explain_encoded(emb, mask, features)


def default_model_config() -> ml_collections.ConfigDict:
    """``config.model`` of UMI on MovieLens (paper Sec. 4.1 + official code defaults)."""
    return ml_collections.ConfigDict(dict(
        name="umi", embedding_dim=32, num_interests=3, iterations=3, init_stddev=1.0,
        inference_seed=0, attention_units=8, refine_attention_units=8, refine_units=(16,),
        use_dar=True, use_ir=True, use_profile=True, profile_dim=8))


def default_loss_overrides(hard_negatives: bool = True) -> dict:
    """``config.loss`` fields: HN (``max`` readout) or the MIND/ComiRec ``argmax``."""
    return dict(readout="max" if hard_negatives else "argmax")


def build_tower(item_tower, info, cfg):
    """UMI tower from ``config.model`` (see :func:`default_model_config` for the fields)."""
    d = default_model_config()
    vocab = info.profile_vocab if cfg.get("use_profile", d.use_profile) else None
    refine = cfg.get("refine_units", d.refine_units)
    return UMITower(item_tower, info.max_len,
                    num_interests=cfg.get("num_interests", d.num_interests),
                    iterations=cfg.get("iterations", d.iterations),
                    init_stddev=cfg.get("init_stddev", d.init_stddev),
                    inference_seed=cfg.get("inference_seed", d.inference_seed),
                    attention_units=cfg.get("attention_units", d.attention_units),
                    refine_attention_units=cfg.get("refine_attention_units",
                                                   d.refine_attention_units),
                    refine_units=None if refine is None else tuple(refine),
                    use_dar=cfg.get("use_dar", d.use_dar), use_ir=cfg.get("use_ir", d.use_ir),
                    profile_vocab=vocab, profile_dim=cfg.get("profile_dim", d.profile_dim),
                    name="umi")


__all__ = ["UMITower", "build_tower", "default_model_config", "default_loss_overrides"]
