"""Evaluation of a trained model under a protocol's :class:`EvalSet`.

Full ranking goes through a retrieval index (exact brute force by default, or ScaNN) with
the user's K interest vectors (score = max over interests, K x N lists merged); sampled
ranking scores each query's candidate list directly, one batched call per user batch.
"""

from __future__ import annotations

import numpy as np

import mirec  # noqa: F401
import tensorflow as tf

from mirec import metrics as M
from mirec import retrieval


def make_index(item_embeddings: np.ndarray, method: str = "brute_force", scann_kwargs=None):
    if method == "brute_force":
        return retrieval.BruteForceIndex(item_embeddings)
    if method == "scann":
        return retrieval.ScaNNIndex(item_embeddings, **dict(scann_kwargs or {}))
    raise ValueError(f"retrieval method must be 'brute_force' or 'scann', got {method!r}")


def max_interest_scores(q, c):
    """(B, C) = max over the K interests of q . e: ``q`` (B, K, D), ``c`` (B, C, D)."""
    return tf.reduce_max(tf.einsum("bkd,bcd->bkc", q, c), axis=1)


def score_candidates(queries: np.ndarray, item_embeddings: np.ndarray, candidates: np.ndarray,
                     batch_size: int = 512, score_fn=None) -> np.ndarray:
    """(U, C) scores of every candidate of every query, one batched call per user batch.

    ``score_fn(q (B, K, D), c (B, C, D)) -> (B, C)`` defaults to the max over the K interests
    of q . e; a model whose scoring differs (e.g. target-attended interests) passes its own.
    """
    score_fn = score_fn or max_interest_scores
    items = tf.constant(item_embeddings)
    out = []
    for s in range(0, len(queries), batch_size):
        q = tf.constant(queries[s:s + batch_size])
        c = tf.gather(items, candidates[s:s + batch_size])  # (B, C, D)
        out.append(np.asarray(score_fn(q, c)))
    return np.concatenate(out, 0)


def evaluate(model, evalset, cfg, user_features=None, return_predictions=False):
    """Metrics dict (and optionally predictions) of ``model`` on ``evalset``.

    ``cfg`` is the ``config.eval`` section: ``cutoffs``, ``metrics`` (names accepted by
    :func:`mirec.metrics.full_ranking_metrics`), ``metric_names`` (e.g. ``{"recall":
    "HitRate"}`` for UMI's Eq. 15), ``exclude_seen``, ``retrieval``
    (``brute_force``/``scann``), ``top_k`` saved in predictions, ``batch_size``.
    """
    queries = model.encode_users(evalset.features(user_features),
                                 batch_size=cfg.get("batch_size", 1024))
    items = model.item_embeddings().numpy()
    cutoffs = tuple(cfg.cutoffs)
    if evalset.candidates is not None:
        # A model may define candidate_scores(q, c) -> (B, C) (see score_candidates).
        scores = score_candidates(queries, items, evalset.candidates,
                                  score_fn=getattr(model, "candidate_scores", None))
        res = M.sampled_ranking_metrics(scores, cutoffs=cutoffs, ties=cfg.get("ties", "average"))
        preds = {"candidates": evalset.candidates, "scores": scores}
    else:
        k = max(int(cfg.get("top_k", 100)), max(cutoffs))
        index = make_index(items, cfg.get("retrieval", "brute_force"), cfg.get("scann", None))
        exclude = evalset.seen if cfg.get("exclude_seen", True) else None
        top_scores, top_ids = index.search(queries, k, exclude=exclude)
        top_scores, top_ids = np.asarray(top_scores), np.asarray(top_ids)
        names = dict(cfg.get("metric_names", {}) or {})
        res = M.full_ranking_metrics(top_ids, evalset.targets, cutoffs=cutoffs,
                                     metrics=tuple(cfg.get("metrics", ("hr", "ndcg"))),
                                     names=names or None)
        preds = {"top_ids": top_ids, "top_scores": top_scores}
    res = {k: float(v) for k, v in res.items()}
    if return_predictions:
        preds.update(users=evalset.users, target_values=evalset.targets[0],
                     target_splits=evalset.targets[1])
        return res, preds
    return res
