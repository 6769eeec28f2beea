"""SINE: Sparse-Interest Network for sequential recommendation (Tan et al., WSDM 2021).

The tower chains the layers of :mod:`mirec.layers.sine`: concept activation (Eq. 1-2),
intention assignment (Eq. 3), attention weighting (Eq. 4), interest embeddings (Eq. 5) and
interest aggregation (Eq. 6-8); ``lambda * L_c`` (Eq. 10-11) is added with ``add_loss``.

Outputs (``output``):

* ``"aggregate"`` (SINE): ``(batch_size, 1, dim)``, the aggregated user vector ``v^u``; train
  with ``LossConfig(readout="single")``, retrieve with the single vector.
* ``"interests"`` (SINE-label, Table 6): ``(batch_size, K, dim)``, the interests ``phi_k``;
  train with ``readout="label_aware"`` (MIND's label-aware attention) and retrieve K*N items
  merged by score. The aggregation module is not built.

SINE-cate (Table 6, Section 4.4: "obtained by using the category attributes as prototypes"):
``use_category_prototypes=True`` replaces the learned prototype matrix by one prototype per
item category (``DatasetInfo.item_category``, ids 1..C, 0 = none), namely the mean
(centroid) of the current embeddings of the category's items, so L = C and a prototype is
exactly the category's cluster of items. The centroids are recomputed from the item table
every step (gradients flow into the item embeddings); ``num_prototypes`` is ignored.

``variant="official"`` follows the official TF1 code (Qiaoyut/SINE ``Model_SINE``) instead of
the paper. Every switch it flips:

1. Positional embeddings are added to the attention input of concept activation (Eq. 1) and
   of the intention pooling (Eq. 6) as well, not only of Eq. 4 (attention inputs only; the
   pooled / summed vectors never contain positions).
2. Attention width: ``hidden_units`` 512 (paper: D) and every tanh layer has a bias.
3. Intention assignment (Eq. 3): ``cos(X_t, C[idx]_k) / 0.07`` against the *un-gated*
   selected prototypes; no W3, no LayerNorm 1/2.
4. Attention weighting (Eq. 4): one shared tanh layer plus a dense layer to K logits (not K
   separate layers); logits multiplied by ``P_{k|t}`` before the masked softmax over positions.
5. Interest embeddings (Eq. 5): ``sum_t a_{k,t} X_t`` (no extra ``P_{k|t}`` factor), no
   LayerNorm 3.
6. Aggregation (Eq. 6-8): item embeddings added to the intention sequence (``cpt_feat``), no
   LayerNorm 4, query = ``Dense_D([mean_k phi_k ; pooled intention])``, softmax over k of
   plain dot products (``tau`` = 1).
7. Defaults: K = 2, L = 10 (``main.py`` for ml1m), ``reg_weight`` 0 (the code's ``alpha`` is 0
   and its regulariser is an interest-similarity term, not Eq. 10; ``reg_weight > 0`` here adds
   the paper's covariance penalty in either variant).

Position alignment: histories are left-padded with the most recent item last, so position
``n - 1`` is always the latest item (the official code right-pads, so for users with fewer
than n items its position 0 is the oldest item; both coincide for full windows).

Loss settings (``config.loss``, not this module): paper = sampled softmax with 5 (MovieLens)
or 10 negatives; official = ``tf.nn.sampled_softmax_loss`` with ``10 * batch_size`` shared
log-uniform negatives and accidental hits removed.
"""

from __future__ import annotations

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)

# isort: split
import ml_collections
import numpy as np
import tensorflow as tf

from mirec.layers.sine import (
    VARIANTS,
    AttentionWeighting,
    ConceptActivation,
    IntentionAssignment,
    InterestAggregation,
    InterestEmbedding,
    prototype_covariance_loss,
)
from mirec.towers.user import SequenceUserTower

OUTPUTS = ("aggregate", "interests")


class SINETower(SequenceUserTower):
    """History -> SINE user representation.

    Args:
      item_tower: the shared :class:`mirec.towers.ItemTower` (table H, dim D).
      max_len: n; also the number of positional embeddings (``n x D``).
      num_interests: K.
      num_prototypes: L (ignored with ``use_category_prototypes``).
      reg_weight: lambda of the covariance regulariser (Eq. 11); 0 disables it.
      tau: temperature of the aggregation softmax (Eq. 7); paper 0.1, official 1.
      variant: ``"paper"`` or ``"official"`` (see the module docstring).
      output: ``"aggregate"`` -> ``(batch_size, 1, D)``; ``"interests"`` -> ``(batch_size, K, D)``.
      hidden_units: width of the tanh attention layers; None or 0 = D (paper), official 512.
      use_category_prototypes: SINE-cate; needs ``item_category``.
      item_category: ``(M + 1,)`` int array of category ids (0 = none).
      assignment_temperature: divides the Eq. 3 logits; None = 1 (paper) / 0.07 (official).
      add_item_embeddings: official ``cpt_feat``; None = True for official, False for paper.
      covariance_center: ``"prototypes"`` or ``"features"``, see
        :func:`mirec.layers.sine.prototype_covariance_loss`.
    """

    def __init__(self, item_tower, max_len, num_interests=4, num_prototypes=50, reg_weight=0.5,
                 tau=0.1, variant="paper", output="aggregate", hidden_units=None,
                 use_category_prototypes=False, item_category=None,
                 assignment_temperature=None, add_item_embeddings=None,
                 covariance_center="prototypes", **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.variant = variant
        self.output_mode = output
        self.num_interests = int(num_interests)
        self.reg_weight = float(reg_weight)
        self.tau = float(tau)
        self.hidden_units = int(hidden_units) if hidden_units else None
        self.covariance_center = covariance_center
        self.use_category_prototypes = bool(use_category_prototypes)
        official = variant == "official"

        if self.use_category_prototypes:
            if item_category is None:
                raise ValueError("use_category_prototypes=True needs item_category")
            cat = np.asarray(item_category).astype(np.int64).reshape(-1)
            if cat.shape[0] != item_tower.num_items + 1:
                raise ValueError(f"item_category has {cat.shape[0]} entries, expected "
                                 f"num_items + 1 = {item_tower.num_items + 1}")
            items = np.nonzero(cat > 0)[0]
            num_categories = int(cat.max()) if items.size else 0
            counts = np.bincount(cat[items] - 1, minlength=num_categories).astype(np.float32)
            if (counts > 0).sum() < self.num_interests:
                raise ValueError(f"only {(counts > 0).sum()} non-empty categories for "
                                 f"K = {self.num_interests} interests")
            self._category_items = tf.constant(items, tf.int32)
            self._category_segments = tf.constant(cat[items] - 1, tf.int32)
            self._category_counts = tf.constant(np.maximum(counts, 1.0)[:, None])
            self.num_prototypes = num_categories
        else:
            self.num_prototypes = int(num_prototypes)

        self.concept = ConceptActivation(
            self.num_prototypes, self.num_interests, hidden_units=self.hidden_units,
            variant=variant, use_prototype_weights=not self.use_category_prototypes,
            name="concept_activation")
        self.assign = IntentionAssignment(variant=variant, temperature=assignment_temperature,
                                          name="intention_assignment")
        self.attend = AttentionWeighting(self.num_interests, hidden_units=self.hidden_units,
                                         variant=variant, name="attention_weighting")
        self.embed = InterestEmbedding(variant=variant, name="interest_embedding")
        self.aggregate = None
        if output == "aggregate":
            self.aggregate = InterestAggregation(
                hidden_units=self.hidden_units, temperature=self.tau, variant=variant,
                add_item_embeddings=(official if add_item_embeddings is None
                                     else add_item_embeddings),
                name="interest_aggregation")

    def build(self, input_shape):
        self.positions = self.add_weight(name="positional_embedding",
                                         shape=(self.max_len, self.dim),
                                         initializer="glorot_uniform", trainable=True)
        super().build(input_shape)

    def prototype_matrix(self):
        """The prototype matrix C ``(L, D)`` (learned, or category centroids for SINE-cate)."""
        if not self.use_category_prototypes:
            if not self.concept.built:
                raise ValueError("call the tower once before reading its prototypes")
            return self.concept.prototypes
        emb = self.item_tower(self._category_items)  # (#items with a category, D)
        sums = tf.math.unsorted_segment_sum(emb, self._category_segments, self.num_prototypes)
        return sums / self._category_counts

    def forward(self, emb, mask, add_losses=True):
        """All intermediate tensors of one forward pass, as a dict.

        Keys: ``prototypes_activated`` (B, K, D) gated ``C^u``, ``prototype_indices`` (B, K),
        ``prototype_scores`` (B, L), ``assignment`` (B, n, K) ``P_{k|t}``, ``attention``
        (B, K, n) ``P_{t|k}``, ``interests`` (B, K, D), and with ``output="aggregate"``
        ``user`` (B, D) and ``interest_weights`` (B, K).
        """
        official = self.variant == "official"
        n = emb.shape[1] if emb.shape[1] is not None else tf.shape(emb)[1]
        if isinstance(n, int) and n > self.max_len:
            raise ValueError(f"history length {n} > max_len {self.max_len}")
        # Left padding: the last row of P always belongs to the most recent item.
        pos = self.positions[self.max_len - n:] if isinstance(n, int) else self.positions[-n:]
        protos = self.prototype_matrix() if self.use_category_prototypes else None

        gated, idx, scores = self.concept(emb, mask=mask, positions=pos if official else None,
                                          prototypes=protos)
        if official:  # cosine against the un-gated selected prototypes
            table = protos if protos is not None else self.concept.prototypes
            assign = self.assign(emb, tf.gather(table, idx), mask=mask)
        else:
            assign = self.assign(emb, gated, mask=mask)
        att = self.attend(emb, mask=mask, positions=pos,
                          assignment=assign if official else None)
        interests = self.embed(emb, att, assignment=assign)
        out = {"prototypes_activated": gated, "prototype_indices": idx,
               "prototype_scores": scores, "assignment": assign, "attention": att,
               "interests": interests}
        if self.aggregate is not None:
            user, weights = self.aggregate(interests, assign, gated, mask=mask,
                                           item_embeddings=emb,
                                           positions=pos if official else None)
            out.update({"user": user, "interest_weights": weights})
        if add_losses and self.reg_weight > 0:
            table = protos if protos is not None else self.concept.prototypes
            self.add_loss(self.reg_weight * prototype_covariance_loss(
                table, center=self.covariance_center))
        return out

    def encode(self, emb, mask, features, training):
        out = self.forward(emb, mask)
        if self.output_mode == "interests":
            return out["interests"]
        return out["user"][:, None, :]

    def details(self, features):
        """Intermediate tensors (see :meth:`forward`) for a features dict, for analysis."""
        if not self.built:
            self(features)
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self.forward(emb, mask, add_losses=False)


def default_model_config(variant: str = "paper") -> ml_collections.ConfigDict:
    """``config.model`` for SINE on MovieLens.

    ``"paper"``: Table 3 / Section 4.1 (K 4, L 50, lambda 0.5, tau 0.1, D 128, attention width
    D). ``"official"``: Qiaoyut/SINE ``main.py`` for ml1m (K 2, L 10, alpha 0, intention
    temperature 0.07, no aggregation temperature, hidden 512, ``cpt_feat`` on).
    ``hidden_units = 0`` means "same as the embedding size".
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    cfg = {"name": "sine", "embedding_dim": 128, "variant": variant, "output": "aggregate",
           "use_category_prototypes": False, "covariance_center": "prototypes",
           "extra_loss_weight": 1.0}
    if variant == "paper":
        cfg.update({"num_interests": 4, "num_prototypes": 50, "reg_weight": 0.5, "tau": 0.1,
                    "assignment_temperature": 1.0, "hidden_units": 0,
                    "add_item_embeddings": False})
    else:
        cfg.update({"num_interests": 2, "num_prototypes": 10, "reg_weight": 0.0, "tau": 1.0,
                    "assignment_temperature": 0.07, "hidden_units": 512,
                    "add_item_embeddings": True})
    return ml_collections.ConfigDict(cfg)


def build_tower(item_tower, info, cfg) -> SINETower:
    """SINE tower from ``config.model``; missing fields take :func:`default_model_config`'s
    value for ``cfg.variant`` (default ``"paper"``)."""
    variant = cfg.get("variant", "paper")
    d = default_model_config(variant)

    def get(key):
        return cfg.get(key, d[key])

    use_cate = bool(get("use_category_prototypes"))
    if use_cate and info.item_category is None:
        raise ValueError(f"SINE-cate needs item categories; dataset {info.name!r} has none "
                         "(set config.dataset.category_column)")
    return SINETower(
        item_tower, info.max_len, num_interests=get("num_interests"),
        num_prototypes=get("num_prototypes"), reg_weight=get("reg_weight"), tau=get("tau"),
        variant=variant, output=get("output"), hidden_units=get("hidden_units") or None,
        use_category_prototypes=use_cate,
        item_category=info.item_category if use_cate else None,
        assignment_temperature=get("assignment_temperature"),
        add_item_embeddings=get("add_item_embeddings"),
        covariance_center=get("covariance_center"), name="sine")
