"""Training objectives for multi-interest two-tower models.

Every loss scores candidates against the user's interest vectors through a *readout*:

* ``"single"``: the tower returns one vector (K = 1), used as is (SINE, YoutubeDNN).
* ``"argmax"``: the interest with the largest inner product with the *target* is used for
  the positive and all negatives (MIND/ComiRec hard readout).
* ``"label_aware"``: MIND's label-aware attention, ``softmax((h_k . e_target) ** p)``-weighted
  sum of interests (``p`` = ``label_power``); ``p`` large approaches ``argmax``.
* ``"max"``: every candidate picks its own best interest, ``logit(x) = max_k h_k . e_x``
  (UMI's hard-negative strategy, HN).

Sampled softmax follows TF1's ``tf.nn.sampled_softmax_loss`` semantics when
``shared_negatives=True`` (one set of negatives for the whole batch, logQ correction
``logit - log(expected_count)`` applied to positives and negatives, accidental hits removed)
and draws negatives per example otherwise.
"""

from __future__ import annotations

import dataclasses

import mirec  # noqa: F401
import tensorflow as tf

READOUTS = ("single", "argmax", "label_aware", "max")
LOSSES = ("sampled_softmax", "full_softmax", "in_batch", "bpr", "bce")
SAMPLERS = ("uniform", "log_uniform")


@dataclasses.dataclass
class LossConfig:
    """What objective to train with.

    Attributes:
      kind: one of ``LOSSES``.
      num_negatives: negatives per positive (``shared_negatives=False``) or per batch
        (``shared_negatives=True``).
      shared_negatives: share one negative set across the batch (TF1 sampled softmax).
      sampler: ``"uniform"`` over items 1..M, or ``"log_uniform"`` (Zipf; assumes item ids are
        sorted by decreasing popularity, as mirec's frequency id order gives).
      logq_correction: subtract ``log Q(item)`` from logits (sampled softmax / in-batch).
      remove_accidental_hits: mask sampled negatives equal to the positive.
      readout: how the K interests are turned into logits, one of ``READOUTS``.
      label_power: the exponent p of label-aware attention.
      temperature: logits are divided by it.
    """

    kind: str = "sampled_softmax"
    num_negatives: int = 5
    shared_negatives: bool = False
    sampler: str = "uniform"
    logq_correction: bool = True
    remove_accidental_hits: bool = True
    readout: str = "argmax"
    label_power: float = 1.0
    temperature: float = 1.0

    def __post_init__(self):
        if self.kind not in LOSSES:
            raise ValueError(f"loss kind must be one of {LOSSES}, got {self.kind!r}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")


def readout_user_vector(interests, target_emb, readout, label_power=1.0):
    """Reduces (batch, K, dim) interests to (batch, dim) for a target-driven readout."""
    if readout == "single":
        if interests.shape[1] != 1:
            raise ValueError(f"readout 'single' needs K=1 interests, got shape {interests.shape}")
        return interests[:, 0, :]
    sim = tf.einsum("bkd,bd->bk", interests, target_emb)
    if readout == "argmax":
        idx = tf.argmax(sim, axis=1, output_type=tf.int32)
        return tf.gather(interests, idx, batch_dims=1)
    if readout == "label_aware":
        # MIND: softmax over pow(sim, p). An even p on a negative score must not win, so use
        # sign-preserving power (|s|^p * sign(s)); for p = 1 this is a plain softmax.
        powered = tf.sign(sim) * tf.pow(tf.abs(sim), label_power)
        w = tf.nn.softmax(powered, axis=1)
        return tf.einsum("bk,bkd->bd", w, interests)
    raise ValueError(f"readout {readout!r} has no single user vector")


def candidate_logits(interests, target_emb, cand_emb, readout, label_power=1.0):
    """Logits of candidates.

    Args:
      interests: (batch, K, dim).
      target_emb: (batch, dim) embedding of each row's positive.
      cand_emb: (num_candidates, dim) shared, or (batch, num_candidates, dim) per row.
      readout: see module docstring.

    Returns:
      (pos_logit (batch,), cand_logits (batch, num_candidates)).
    """
    if readout == "max":
        pos = tf.reduce_max(tf.einsum("bkd,bd->bk", interests, target_emb), axis=1)
        if len(cand_emb.shape) == 2:
            neg = tf.reduce_max(tf.einsum("bkd,nd->bkn", interests, cand_emb), axis=1)
        else:
            neg = tf.reduce_max(tf.einsum("bkd,bnd->bkn", interests, cand_emb), axis=1)
        return pos, neg
    user = readout_user_vector(interests, target_emb, readout, label_power)
    pos = tf.reduce_sum(user * target_emb, axis=-1)
    if len(cand_emb.shape) == 2:
        neg = tf.matmul(user, cand_emb, transpose_b=True)
    else:
        neg = tf.einsum("bd,bnd->bn", user, cand_emb)
    return pos, neg


def _log_expected_count(ids, num_items, sampler, num_draws):
    """log of the expected number of times an id (1..M) is drawn in ``num_draws`` draws."""
    ids = tf.cast(ids, tf.float32)
    m = float(num_items)
    if sampler == "uniform":
        p = tf.ones_like(ids) / m
    else:  # log-uniform over ranks 0..M-1, id = rank + 1
        r = ids - 1.0
        p = (tf.math.log(r + 2.0) - tf.math.log(r + 1.0)) / tf.math.log(m + 1.0)
    return tf.math.log(p * float(num_draws))


def sample_negatives(num_items, shape, sampler, seed=None):
    """Draws item ids in 1..M with replacement, ``shape`` an int tuple."""
    shape = tf.stack([tf.cast(s, tf.int32) for s in shape])
    if sampler == "uniform":
        return tf.random.uniform(shape, 1, num_items + 1, dtype=tf.int64, seed=seed)
    # Log-uniform (Zipf) over ranks 0..M-1 by inverse CDF, then shift past padding id 0:
    # P(rank r) = log((r + 2) / (r + 1)) / log(M + 1).
    u = tf.random.uniform(shape, dtype=tf.float64, seed=seed)
    log_range = tf.constant(float(num_items) + 1.0, tf.float64)
    ranks = tf.cast(tf.floor(tf.exp(u * tf.math.log(log_range))), tf.int64) - 1
    return tf.clip_by_value(ranks, 0, num_items - 1) + 1


def retrieval_loss(cfg: LossConfig, interests, targets, item_embedding_fn, num_items,
                   batch_targets_logq=None, negatives=None):
    """Mean training loss over the batch.

    Args:
      cfg: the objective.
      interests: (batch, K, dim) user interests.
      targets: (batch,) positive item ids (1..M).
      item_embedding_fn: maps int ids of any shape to embeddings (..., dim).
      num_items: M; valid ids are 1..M.
      batch_targets_logq: optional (batch,) log-probabilities of the in-batch items for
        in-batch logQ correction.
      negatives: optional (batch, n) negatives drawn by the input pipeline; when given they
        replace the loss's own sampler and no logQ correction is applied to them.
    """
    targets = tf.cast(targets, tf.int64)
    target_emb = item_embedding_fn(targets)
    batch = tf.shape(targets)[0]
    t = cfg.temperature

    if cfg.kind == "full_softmax":
        all_ids = tf.range(1, num_items + 1, dtype=tf.int64)
        _, logits = candidate_logits(interests, target_emb, item_embedding_fn(all_ids),
                                     cfg.readout, cfg.label_power)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets - 1, logits=logits / t))

    if cfg.kind == "in_batch":
        pos, logits = candidate_logits(interests, target_emb, target_emb, cfg.readout,
                                       cfg.label_power)
        if cfg.logq_correction and batch_targets_logq is not None:
            logits -= batch_targets_logq[tf.newaxis, :]
        same = tf.equal(targets[:, None], targets[None, :])
        eye = tf.eye(batch, dtype=tf.bool)
        logits = tf.where(same & ~eye, -1e9, logits)  # duplicates of the positive
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.range(batch), logits=logits / t))

    n = cfg.num_negatives
    if negatives is not None:
        neg_ids = tf.cast(negatives, tf.int64)
        neg_emb = item_embedding_fn(neg_ids)
        accidental = tf.equal(targets[:, None], neg_ids)
    elif cfg.shared_negatives:
        neg_ids = sample_negatives(num_items, (n,), cfg.sampler)
        neg_emb = item_embedding_fn(neg_ids)
        accidental = tf.equal(targets[:, None], neg_ids[None, :])
    else:
        neg_ids = sample_negatives(num_items, (batch, n), cfg.sampler)
        neg_emb = item_embedding_fn(neg_ids)
        accidental = tf.equal(targets[:, None], neg_ids)
    pos, neg = candidate_logits(interests, target_emb, neg_emb, cfg.readout, cfg.label_power)
    pos, neg = pos / t, neg / t

    if cfg.kind in ("bpr", "bce"):
        mask = tf.cast(~accidental, neg.dtype) if cfg.remove_accidental_hits else tf.ones_like(neg)
        denom = tf.maximum(tf.reduce_sum(mask), 1.0)
        if cfg.kind == "bpr":
            return -tf.reduce_sum(tf.math.log_sigmoid(pos[:, None] - neg) * mask) / denom
        pos_l = -tf.math.log_sigmoid(pos)
        neg_l = -tf.math.log_sigmoid(-neg)
        return tf.reduce_mean(pos_l) + tf.reduce_sum(neg_l * mask) / denom

    # sampled softmax
    if cfg.logq_correction and negatives is None:
        pos = pos - _log_expected_count(targets, num_items, cfg.sampler, n)
        neg = neg - _log_expected_count(neg_ids, num_items, cfg.sampler, n)
    if cfg.remove_accidental_hits:
        neg = tf.where(accidental, tf.cast(-1e9, neg.dtype), neg)
    logits = tf.concat([pos[:, None], neg], axis=1)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.zeros((batch,), tf.int32), logits=logits))
