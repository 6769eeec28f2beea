"""MGNM: the Multi-Grained Neural Model (Tian et al., SIGIR 2022).

Yu Tian, Jianxin Chang, Yanan Niu, Yang Song and Chenliang Li, "When Multi-Level Meets
Multi-Interest: A Multi-Grained Neural Model for Sequential Recommendation", SIGIR 2022.
Layers: :mod:`mirec.layers.mgnm` (one per equation group).

The user tower (:class:`MGNMTower`):

1. item embeddings ``x_1..x_m`` of the history (the shared item tower) and a user
   embedding ``x_u`` from a user table (``features["user"]``, ``info.num_users`` rows);
2. user-aware graph ``A`` (Eq. 1) and L shared-weight graph convolutions (Eq. 2-4) giving
   the L + 1 levels ``H^(0) = X, H^(1..L)``;
3. the sequential capsule network on every level (Eq. 5-11, one network shared by the
   levels), K interests per level.

``MGNMModel.call(features)`` returns all ``(L + 1) K`` interests flattened,
``(batch_size, (L + 1) * K, dim)``, level-major (interest ``l * K + j`` is ``q_j^(l)``).
That is what full ranking and ScaNN serving index: the score of an item there is
``max_{l, j} q_j^(l) . x_t``, an upper bound of -- and an approximation to -- the paper's
score ``max_l sum_j softmax_j(q_j^(l) . x_t) q_j^(l) . x_t`` (the attention-weighted mean of
a level's scores is at most their max, with equality when one interest dominates). The
sampled-candidate protocol of the paper (1,000 negatives per test interaction) uses
:meth:`MGNMModel.candidate_scores`, which is Eq. 12-15 exactly.

Training (Eq. 16-17, :meth:`MGNMModel.compute_loss`): for each positive (history, target),
``config.loss.num_negatives`` uniform negatives over items 1..M; negatives equal to the
target or present in the history are rejected (weight 0; the official sampler redraws
them); pointwise sigmoid cross-entropy of every level's score ``y^(l)``, summed over the
levels, ``+ theta1 ||A||_1 + theta2 L2(all trainable parameters)``.

Switches (``config.model``; :func:`default_model_config` lists every field):

* ``variant``: ``"paper"`` (Sec. 3) or ``"official"`` (WHUIR/MGNM as it would run once
  patched: ``user_aware=False``, GCN without normalisation/self loop reading the input at
  every layer with a bias, routing softmax over capsules with stop-gradient, one matrix per
  position and capsule, the BiLSTM over the concatenated capsules for the second iteration
  only, no Eq. 11 ReLU layer, ``theta1 = theta2 = 1e-5`` with ``tf.nn.l2_loss``
  (half squared norm)). Fields set explicitly in ``config.model`` override the variant.
* Table 3 ablations: ``use_ugcn=False`` (w/o UGCN: no graph, the only level is the raw
  embeddings, so K interests in all), ``use_l1=False`` (w/o L1Norm), ``use_bilstm=False``
  (w/o BiLSTM), ``max_pool=False`` (w/o MaxPool: mean of the level scores at inference;
  training is per level either way), ``encoder`` = ``"bilstm" | "sumpool" | "selfatt" |
  "transformer"`` (SCN->BiLSTM, SCN->SumPool, SCN->SelfAtt, SCN (Transformer); see
  :class:`mirec.layers.mgnm.SequentialCapsule` for how each is read).
* ``user_aware``: Eq. 1 with (paper) or without (official) the user embedding.
* ``num_interests`` K = 4, ``num_layers`` L = 3, ``iterations`` tau = 3 (paper and code).

Choices the paper leaves open:

* ``loss_reduction="sum"``: Eq. 17 sums over the (user, item) pairs of the batch, as does
  the official code (``reduce_sum``); the L1 term is summed over the batch's users. With
  ``"mean"`` the cross-entropy is averaged over the scored pairs (still summed over levels)
  and the L1 term over users. Adam is insensitive to the overall scale; the reduction sets
  how strong ``theta2 L2`` is relative to the data term.
* ``l2_form``: ``"squared"`` (paper: ``theta2 sum w^2``, "the L2 norm of all model
  parameters" read as weight decay) or ``"half"`` (official ``tf.nn.l2_loss``).
  ``l2_scope="all"`` regularises every trainable variable, the whole item and user tables
  included (paper wording, official code); ``"batch"`` only the embedding rows the batch
  uses plus all dense weights.
* User table initialised from N(0, 0.1^2) (official); LeakyReLU slope 0.2; routing logits
  from a truncated normal (stddev 1), seeded at inference so evaluation is deterministic.
* Users seen at test time all have a row (the chronological split keeps the user index).

Public API: :class:`MGNMTower`, :class:`MGNMModel`, :func:`build_model`,
:func:`default_model_config`, ``VARIANTS``.
"""

from __future__ import annotations

import ml_collections

import mirec  # noqa: F401  (Keras 2 set-up before TensorFlow)
import tensorflow as tf

from mirec.layers.mgnm import (ENCODERS, GraphConvolution, SequentialCapsule,
                               TargetAttentionScore, UserAwareGraph, level_scores)
from mirec.models.base import MultiInterestModel
from mirec.models.losses import LossConfig
from mirec.towers.item import ItemTower
from mirec.towers.user import SequenceUserTower

VARIANTS = ("paper", "official")
LOSS_REDUCTIONS = ("sum", "mean")
L2_FORMS = ("squared", "half")
L2_SCOPES = ("all", "batch")

# What "paper" / "official" set; any field given in config.model wins.
_VARIANT_FIELDS = {
    "paper": dict(user_aware=True, gcn_normalize=True, gcn_iterative=True, gcn_bias=False,
                  routing_softmax="items", stop_gradient=False, final_relu=True,
                  official_bilstm=False, position_weights=False, theta1=1e-6, theta2=1e-5,
                  l2_form="squared"),
    "official": dict(user_aware=False, gcn_normalize=False, gcn_iterative=False,
                     gcn_bias=True, routing_softmax="capsules", stop_gradient=True,
                     final_relu=False, official_bilstm=True, position_weights=True,
                     theta1=1e-5, theta2=1e-5, l2_form="half"),
}


def default_model_config(variant: str = "paper") -> ml_collections.ConfigDict:
    """``config.model`` of MGNM on the Amazon sets (Sec. 4.1: d 16, K 4, L 3)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    c = dict(name="mgnm", variant=variant, embedding_dim=16, num_interests=4, num_layers=3,
             iterations=3, use_ugcn=True, use_l1=True, use_bilstm=True, encoder="capsule",
             max_pool=True, init_stddev=1.0, inference_seed=0, lstm_units=None, num_heads=2,
             user_init_stddev=0.1, loss_reduction="sum", l2_scope="all",
             reject_history_negatives=True)
    c.update(_VARIANT_FIELDS[variant])
    return ml_collections.ConfigDict(c)


class MGNMTower(SequenceUserTower):
    """History (+ user id) -> the ``(L + 1) K`` multi-grained interests.

    ``call(features)`` returns ``(batch_size, num_levels * interests_per_level, dim)``,
    level-major; :meth:`encode_all` returns the structured pieces for the loss and analysis.
    ``features``: ``history`` ``(batch_size, max_len)`` (left-padded, 0 = padding) and, when
    the graph is user-aware, ``user`` ``(batch_size,)`` in ``0..num_users-1``.

    Args:
      item_tower: the shared :class:`ItemTower` (its width is d).
      max_len: m.
      num_users: rows of the user table (Eq. 1's ``x_u``).
      num_interests: K. num_layers: L. iterations: tau.
      use_ugcn: the user-aware graph convolution (False: w/o UGCN, one level = X).
      user_aware, gcn_normalize, gcn_iterative, gcn_bias: see
        :class:`mirec.layers.mgnm.UserAwareGraph` / :class:`GraphConvolution`.
      encoder, use_bilstm, routing_softmax, stop_gradient, final_relu, official_bilstm,
      position_weights, init_stddev, inference_seed, lstm_units, num_heads: see
        :class:`mirec.layers.mgnm.SequentialCapsule`.
      user_init_stddev: stddev of the user table's normal initialiser.

    Example:
      >>> tower = MGNMTower(ItemTower(10, 8), max_len=5, num_users=3, num_interests=2,
      ...                   num_layers=1)
      >>> tower({"history": tf.constant([[0, 0, 1, 2, 3]]), "user": tf.constant([1])}).shape
      TensorShape([1, 4, 8])
    """

    def __init__(self, item_tower, max_len, num_users, num_interests=4, num_layers=3,
                 iterations=3, use_ugcn=True, user_aware=True, gcn_normalize=True,
                 gcn_iterative=True, gcn_bias=False, encoder="capsule", use_bilstm=True,
                 routing_softmax="items", stop_gradient=False, final_relu=True,
                 official_bilstm=False, position_weights=False, init_stddev=1.0,
                 inference_seed=0, lstm_units=None, num_heads=2, user_init_stddev=0.1,
                 **kwargs):
        super().__init__(item_tower, max_len, **kwargs)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self.num_users = int(num_users)
        self.num_interests = int(num_interests)
        self.num_layers = int(num_layers)
        self.use_ugcn = bool(use_ugcn)
        self.user_aware = bool(user_aware) and self.use_ugcn
        self.encoder = encoder
        self.user_embedding = None
        if self.user_aware:
            self.user_embedding = tf.keras.layers.Embedding(
                self.num_users, self.dim, name="user_embedding",
                embeddings_initializer=tf.keras.initializers.RandomNormal(
                    0.0, float(user_init_stddev)))
        self.graph = self.gcn = None
        if self.use_ugcn:
            self.graph = UserAwareGraph(user_aware=self.user_aware, name="graph")
            self.gcn = GraphConvolution(self.num_layers, normalize=gcn_normalize,
                                        iterative=gcn_iterative, use_bias=gcn_bias,
                                        name="gcn")
        self.scn = SequentialCapsule(
            self.num_interests, iterations=iterations, encoder=encoder, use_bilstm=use_bilstm,
            routing_softmax=routing_softmax, stop_gradient=stop_gradient,
            final_relu=final_relu, official_bilstm=official_bilstm,
            position_weights=position_weights, init_stddev=init_stddev,
            inference_seed=inference_seed, lstm_units=lstm_units, num_heads=num_heads,
            name="scn")

    @property
    def num_levels(self):
        return self.num_layers + 1 if self.use_ugcn else 1

    @property
    def interests_per_level(self):
        return self.scn.interests_per_level(self.max_len)

    def encode(self, emb, mask, features, training):
        out = self._forward(emb, mask, features, training)
        q = out["interests"]
        return tf.reshape(q, [tf.shape(q)[0], self.num_levels * self.interests_per_level,
                              self.dim])

    def encode_all(self, features, training=False):
        """Dict: ``interests`` ``(B, levels, K', d)``, ``interest_mask`` ``(B, levels, K')``
        or None, ``adjacency`` ``(B, m, m)`` / ``adjacency_l1`` ``(B,)`` (None w/o UGCN),
        ``levels`` ``(B, levels, m, d)``, ``history_mask`` ``(B, m)``."""
        ids = tf.cast(features["history"], tf.int32)
        mask = ids > 0
        emb = self.item_tower(ids) * tf.cast(mask, tf.float32)[..., None]
        return self._forward(emb, mask, features, training)

    def _forward(self, emb, mask, features, training):
        a = l1 = None
        if self.use_ugcn:
            user = None
            if self.user_aware:
                if "user" not in features:
                    raise KeyError("MGNM's user-aware graph (Eq. 1) needs features['user']")
                user = self.user_embedding(tf.cast(features["user"], tf.int32))
            a, l1 = self.graph(emb, user, mask=mask)
            levels = self.gcn(emb, a, mask=mask)  # (B, G, m, d)
        else:
            levels = emb[:, None]
        g, m = self.num_levels, emb.shape[1] or tf.shape(emb)[1]
        batch = tf.shape(emb)[0]
        folded = tf.reshape(levels, [-1, m, self.dim])
        fmask = tf.reshape(tf.tile(mask[:, None, :], [1, g, 1]), [-1, m])
        q = self.scn(folded, mask=fmask, training=training)  # (B*G, K', d)
        kp = self.interests_per_level
        q = tf.reshape(q, [batch, g, kp, self.dim])
        imask = (tf.reshape(fmask, [batch, g, kp]) if self.encoder == "selfatt" else None)
        return {"interests": q, "interest_mask": imask, "adjacency": a, "adjacency_l1": l1,
                "levels": levels, "history_mask": mask}


class MGNMModel(MultiInterestModel):
    """MGNM with its own scoring (Eq. 12-15) and loss (Eq. 16-17).

    Args:
      item_tower, user_tower: the shared :class:`ItemTower` and an :class:`MGNMTower`.
      loss: the run's :class:`LossConfig` (``num_negatives`` is used; the objective is
        always MGNM's per-level BCE).
      theta1: weight of ``||A||_1`` (paper 1e-6, official 1e-5). use_l1: False = w/o L1Norm.
      theta2: weight of the L2 term (1e-5). l2_form: ``"squared"`` | ``"half"``.
      l2_scope: ``"all"`` | ``"batch"``. loss_reduction: ``"sum"`` | ``"mean"``.
      max_pool: Eq. 15's max over levels (False: mean, w/o MaxPool).
      reject_history_negatives: also reject sampled negatives found in the history.
    """

    def __init__(self, item_tower, user_tower, loss: LossConfig | None = None, theta1=1e-6,
                 theta2=1e-5, use_l1=True, l2_form="squared", l2_scope="all",
                 loss_reduction="sum", max_pool=True, reject_history_negatives=True,
                 **kwargs):
        loss = loss or LossConfig(kind="bce", num_negatives=5)
        super().__init__(item_tower, user_tower, loss, **kwargs)
        for name, value, allowed in (("loss_reduction", loss_reduction, LOSS_REDUCTIONS),
                                     ("l2_form", l2_form, L2_FORMS),
                                     ("l2_scope", l2_scope, L2_SCOPES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.num_negatives = int(loss.num_negatives)
        self.theta1 = float(theta1)
        self.theta2 = float(theta2)
        self.use_l1 = bool(use_l1)
        self.l2_form = l2_form
        self.l2_scope = l2_scope
        self.loss_reduction = loss_reduction
        self.reject_history_negatives = bool(reject_history_negatives)
        self.scorer = TargetAttentionScore(max_pool=max_pool, name="prediction")

    # -- scoring

    def _levels(self, q):
        """``(B, levels * K', d)`` -> ``(B, levels, K', d)`` and its interest mask."""
        t = self.user_tower
        q = tf.reshape(tf.cast(q, tf.float32),
                       [tf.shape(q)[0], t.num_levels, t.interests_per_level, t.dim])
        mask = None
        if t.encoder == "selfatt":  # padded history rows are exact zeros
            mask = tf.reduce_any(tf.not_equal(q, 0.0), axis=-1)
        return q, mask

    def candidate_scores(self, q, c):
        """Eq. 12-15: ``(B, C)`` scores of candidates ``c`` ``(B, C, d)`` for the flattened
        interests ``q`` ``(B, levels * K, d)`` returned by :meth:`call`."""
        q, mask = self._levels(q)
        return self.scorer(q, c, interest_mask=mask)[0]

    def candidate_level_scores(self, q, c):
        """``(B, levels, C)`` per-level scores (Eq. 14), e.g. for the activated-level counts
        of Figures 5-6 (``argmax`` over axis 1)."""
        q, mask = self._levels(q)
        return self.scorer(q, c, interest_mask=mask)[1]

    # -- training

    def sample_negatives(self, targets, history):
        """``(B, n)`` uniform ids in 1..M and a bool ``(B, n)`` of the accepted ones."""
        b = tf.shape(targets)[0]
        negs = tf.random.uniform(tf.stack([b, self.num_negatives]), 1, self.num_items + 1,
                                 dtype=tf.int32)
        return negs, self.accepted_negatives(negs, targets, history)

    def accepted_negatives(self, negs, targets, history):
        ok = tf.not_equal(negs, targets[:, None])
        if self.reject_history_negatives:
            seen = tf.reduce_any(tf.equal(negs[:, :, None], history[:, None, :]), axis=-1)
            ok &= ~seen
        return ok

    def compute_loss(self, features, training=False):
        out = self.user_tower.encode_all(features, training=training)
        targets = tf.cast(features["target"], tf.int32)
        history = tf.cast(features["history"], tf.int32)
        if features.get("negatives") is not None:
            negs = tf.cast(features["negatives"], tf.int32)
            ok = self.accepted_negatives(negs, targets, history)
        else:
            negs, ok = self.sample_negatives(targets, history)
        cands = tf.concat([targets[:, None], negs], axis=1)  # (B, 1 + n)
        logits = level_scores(out["interests"], self.item_tower(cands),
                              out["interest_mask"])  # (B, G, 1 + n)
        return self.objective(logits, ok, out["adjacency_l1"], features, cands)

    def objective(self, logits, accepted, adjacency_l1, features=None, candidates=None):
        """Eq. 16-17 from per-level logits ``(B, G, 1 + n)`` (column 0 the positive),
        ``accepted`` ``(B, n)`` negatives and ``adjacency_l1`` ``(B,)`` (or None)."""
        weights = tf.concat([tf.ones_like(accepted[:, :1], tf.float32),
                             tf.cast(accepted, tf.float32)], axis=1)  # (B, 1 + n)
        labels = tf.concat([tf.ones_like(weights[:, :1]), tf.zeros_like(weights[:, 1:])], 1)
        labels = tf.broadcast_to(labels[:, None, :], tf.shape(logits))
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        data = tf.reduce_sum(bce * weights[:, None, :])  # summed over levels (Eq. 16)
        if self.loss_reduction == "mean":
            data = data / tf.maximum(tf.reduce_sum(weights), 1.0)
        total = data
        if self.use_l1 and adjacency_l1 is not None and self.theta1 > 0:
            l1 = (tf.reduce_sum(adjacency_l1) if self.loss_reduction == "sum"
                  else tf.reduce_mean(adjacency_l1))
            total = total + self.theta1 * l1
        if self.theta2 > 0:
            total = total + self.theta2 * self.l2_penalty(features, candidates)
        return total

    def l2_penalty(self, features=None, candidates=None):
        """``sum w^2`` (``l2_form="half"``: ``/ 2``) over the regularised parameters."""
        scale = 0.5 if self.l2_form == "half" else 1.0
        if self.l2_scope == "all" or features is None:
            return scale * tf.add_n([tf.reduce_sum(tf.square(v))
                                     for v in self.trainable_variables])
        tables = {id(self.item_tower.embedding.embeddings)}
        terms = []
        item_ids = [tf.reshape(tf.cast(features["history"], tf.int32), [-1])]
        if candidates is not None:
            item_ids.append(tf.reshape(tf.cast(candidates, tf.int32), [-1]))
        ids = tf.concat(item_ids, 0)
        rows = tf.gather(self.item_tower.embedding.embeddings, ids)
        terms.append(tf.reduce_sum(tf.square(rows) * tf.cast(ids > 0, rows.dtype)[:, None]))
        ue = self.user_tower.user_embedding
        if ue is not None:
            tables.add(id(ue.embeddings))
            urows = tf.gather(ue.embeddings, tf.cast(features["user"], tf.int32))
            terms.append(tf.reduce_sum(tf.square(urows)))
        terms += [tf.reduce_sum(tf.square(v)) for v in self.trainable_variables
                  if id(v) not in tables]
        return scale * tf.add_n(terms)


def build_model(config, info) -> MGNMModel:
    """MGNM for ``config`` (``config.model`` fields: :func:`default_model_config`)."""
    m = config.model
    d = default_model_config(m.get("variant", "paper"))

    def get(key):  # config.model wins; unset (or None) fields take the variant's value
        value = m.get(key, None)
        return d[key] if value is None else value

    item_tower = ItemTower(info.num_items, m.get("embedding_dim", d.embedding_dim),
                           name="item_tower")
    tower = MGNMTower(
        item_tower, info.max_len, info.num_users,
        num_interests=get("num_interests"), num_layers=get("num_layers"),
        iterations=get("iterations"), use_ugcn=get("use_ugcn"), user_aware=get("user_aware"),
        gcn_normalize=get("gcn_normalize"), gcn_iterative=get("gcn_iterative"),
        gcn_bias=get("gcn_bias"), encoder=get("encoder"), use_bilstm=get("use_bilstm"),
        routing_softmax=get("routing_softmax"), stop_gradient=get("stop_gradient"),
        final_relu=get("final_relu"), official_bilstm=get("official_bilstm"),
        position_weights=get("position_weights"), init_stddev=get("init_stddev"),
        inference_seed=get("inference_seed"), lstm_units=get("lstm_units"),
        num_heads=get("num_heads"), user_init_stddev=get("user_init_stddev"), name="mgnm")
    loss = LossConfig(**dict(config.loss))
    return MGNMModel(item_tower, tower, loss, theta1=get("theta1"), theta2=get("theta2"),
                     use_l1=get("use_l1"), l2_form=get("l2_form"), l2_scope=get("l2_scope"),
                     loss_reduction=get("loss_reduction"), max_pool=get("max_pool"),
                     reject_history_negatives=get("reject_history_negatives"),
                     item_popularity=info.item_popularity)


__all__ = ["MGNMTower", "MGNMModel", "build_model", "default_model_config", "VARIANTS"]
