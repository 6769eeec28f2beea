"""Ranking metrics for the four evaluation protocols (full ranking, multi-target, sampled).

Everything is vectorised NumPy: no Python loop runs over users or items.

Ragged targets
--------------
Per-user target sets (and seen-item lists) are passed as a *Ragged*, one of:

* a ``list`` (or other non-tuple sequence) with one entry per user, each a 1-D int array, a
  list of ints or a single int;
* a ``tuple`` ``(values, row_splits)`` laid out like ``tf.RaggedTensor``: the ids of user ``u``
  are ``values[row_splits[u]:row_splits[u + 1]]``. A tuple is *always* read this way;
* a ``tf.RaggedTensor`` (anything with ``.values`` and ``.row_splits``);
* a 1-D int ``np.ndarray``: exactly one id per user (leave-one-out protocols);
* a 2-D int ``np.ndarray``: one row per user.

Negative ids are padding and are dropped by :func:`to_row_splits`.

Units: every metric is a fraction in [0, 1] (multiply by 100 for papers that print percent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "METRIC_NAMES",
    "full_ranking_metrics",
    "gauc",
    "hits_matrix",
    "mean_std",
    "paired_t_test",
    "sampled_ranking_metrics",
    "to_row_splits",
    "umi_metrics",
]

#: Display name of each metric key used in the result dictionaries (``"ndcg"`` -> ``"NDCG@10"``).
METRIC_NAMES = {
    "hr": "HR",
    "recall": "Recall",
    "precision": "Precision",
    "ndcg": "NDCG",
    "mrr": "MRR",
}

_TIE_POLICIES = ("pessimistic", "optimistic", "average")


# --------------------------------------------------------------------------------------------
# Ragged helpers
# --------------------------------------------------------------------------------------------


def to_row_splits(x) -> tuple[np.ndarray, np.ndarray]:
    """Converts a Ragged (see module docstring) to ``(values int64, row_splits int64)``.

    Negative ids (padding) are removed. Raises ``ValueError`` on malformed row splits.
    """
    if hasattr(x, "row_splits") and hasattr(x, "values") and not isinstance(x, tuple):
        values = np.asarray(x.values)
        splits = np.asarray(x.row_splits)
        if values.ndim != 1:
            raise ValueError("only ragged tensors with one ragged dimension are supported")
    elif isinstance(x, tuple):
        if len(x) != 2:
            raise ValueError(
                "a tuple Ragged must be (values, row_splits); pass a list for per-user arrays"
            )
        values = np.asarray(x[0]).reshape(-1)
        splits = np.asarray(x[1]).reshape(-1)
    elif isinstance(x, np.ndarray):
        if x.ndim == 1:
            values = x
            splits = np.arange(x.shape[0] + 1)
        elif x.ndim == 2:
            values = x.reshape(-1)
            splits = np.arange(x.shape[0] + 1) * x.shape[1]
        else:
            raise ValueError(f"a dense Ragged must be 1-D or 2-D, got shape {x.shape}")
    else:
        rows = [np.atleast_1d(np.asarray(r)).reshape(-1) for r in x]
        lengths = np.array([r.shape[0] for r in rows], dtype=np.int64)
        splits = np.concatenate([[0], np.cumsum(lengths)])
        values = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    if (
        values.size
        and not np.issubdtype(values.dtype, np.integer)
        and not np.all(np.equal(np.mod(values, 1), 0))
    ):
        raise ValueError("ids must be integers")
    values = values.astype(np.int64, copy=False)
    splits = splits.astype(np.int64, copy=False)
    if splits.ndim != 1 or splits.shape[0] < 1 or splits[0] != 0:
        raise ValueError("row_splits must be 1-D and start with 0")
    if splits[-1] != values.shape[0] or np.any(np.diff(splits) < 0):
        raise ValueError(
            f"row_splits must be non-decreasing and end at len(values)={values.shape[0]}"
        )

    keep = values >= 0
    if not keep.all():
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        splits = kept_before[splits]
        values = values[keep]
    return values, splits


def _row_ids(splits: np.ndarray) -> np.ndarray:
    """Row index of every value of a row-split layout."""
    return np.repeat(np.arange(splits.shape[0] - 1, dtype=np.int64), np.diff(splits))


def _first_occurrence(ids: np.ndarray) -> np.ndarray:
    """Bool [U, N]: True where ``ids[u, j]`` does not occur earlier in row ``u``."""
    if ids.shape[1] == 0:
        return np.ones(ids.shape, dtype=bool)
    order = np.argsort(ids, axis=1, kind="stable")  # equal ids keep their list order
    sorted_ids = np.take_along_axis(ids, order, axis=1)
    first_sorted = np.ones(ids.shape, dtype=bool)
    first_sorted[:, 1:] = sorted_ids[:, 1:] != sorted_ids[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first


def _membership(ids: np.ndarray, values: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """Bool [U, N]: ``ids[u, j]`` is one of row ``u``'s values (negative ids never match)."""
    num_rows = ids.shape[0]
    if splits.shape[0] - 1 != num_rows:
        raise ValueError(f"{splits.shape[0] - 1} ragged rows for {num_rows} ranked lists")
    if ids.size == 0 or values.size == 0:
        return np.zeros(ids.shape, dtype=bool)
    base = np.int64(max(int(ids.max()), int(values.max())) + 1)
    row_keys = np.arange(num_rows, dtype=np.int64)[:, None] * base + ids
    value_keys = _row_ids(splits) * base + values
    return np.isin(row_keys, value_keys) & (ids >= 0)


def _unique_count_per_row(values: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """Number of distinct ids in each row."""
    num_rows = splits.shape[0] - 1
    if values.size == 0:
        return np.zeros(num_rows, dtype=np.int64)
    base = np.int64(int(values.max()) + 1)
    keys = np.unique(_row_ids(splits) * base + values)
    return np.bincount(keys // base, minlength=num_rows)


def _as_2d_ids(topk_ids) -> np.ndarray:
    ids = np.asarray(topk_ids)
    if ids.ndim != 2:
        raise ValueError(f"topk_ids must be 2-D [users, N], got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"topk_ids must be integers, got {ids.dtype}")
    return ids.astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------
# Full-ranking metrics
# --------------------------------------------------------------------------------------------


def hits_matrix(topk_ids, targets) -> np.ndarray:
    """Bool ``[U, N]``: whether ``topk_ids[u, j]`` is one of user ``u``'s targets.

    A repeated id counts only at its first occurrence in the list; negative ids (padding of
    short result lists) never hit.
    """
    ids = _as_2d_ids(topk_ids)
    values, splits = to_row_splits(targets)
    return _membership(ids, values, splits) & _first_occurrence(ids)


def _discounts(n: int) -> np.ndarray:
    """``1 / log2(r + 1)`` for ranks r = 1..n."""
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def full_ranking_metrics(
    topk_ids,
    targets,
    cutoffs: Sequence[int] = (10, 50),
    metrics: Sequence[str] = ("hr", "recall", "precision", "ndcg", "mrr"),
    *,
    per_user: bool = False,
    names: Mapping[str, str] | None = None,
    ndcg_idcg: str = "targets",
):
    """Top-N metrics of ranked lists against per-user target sets, averaged over users.

    Args:
      topk_ids: int ``[U, N]``, best first; ``-1`` pads short lists. ``N`` must be at least
        ``max(cutoffs)``.
      targets: Ragged of target ids, one row per user (duplicates inside a row count once).
      cutoffs: the N of each ``@N``.
      metrics: any of ``"hr"`` (1 if any target in the top N), ``"recall"`` (|hits| / |T|,
        UMI's HitRate, ComiRec's recall), ``"precision"`` (|hits| / N), ``"ndcg"`` and
        ``"mrr"`` (1 / rank of the first hit within N, else 0).
      per_user: also return the per-user values (for paired significance tests).
      names: display-name overrides, e.g. ``{"recall": "HitRate"}`` gives ``"HitRate@10"``.
      ndcg_idcg: ``"targets"`` (standard: IDCG over ``min(|T|, N)`` ideal positions) or
        ``"hits"`` (ComiRec after its NDCG fix: IDCG over the number of hits in the top N).

    Returns:
      ``{"HR@10": float, ...}``, or ``(summary, per_user_dict)`` when ``per_user`` is True, where
      ``per_user_dict`` maps the same keys to float arrays of shape ``[U]``.

    Raises:
      ValueError: a user has no target, a cut-off exceeds the list length, or an unknown metric.
    """
    ids = _as_2d_ids(topk_ids)
    values, splits = to_row_splits(targets)
    num_users, width = ids.shape
    if splits.shape[0] - 1 != num_users:
        raise ValueError(f"{splits.shape[0] - 1} target rows for {num_users} ranked lists")
    if num_users == 0:
        raise ValueError("no users to evaluate")
    num_targets = _unique_count_per_row(values, splits)
    empty = np.flatnonzero(num_targets == 0)
    if empty.size:
        raise ValueError(f"{empty.size} user(s) have no target (first rows: {empty[:5].tolist()})")
    cutoffs = [int(c) for c in cutoffs]
    if not cutoffs or min(cutoffs) < 1:
        raise ValueError(f"cut-offs must be positive, got {cutoffs}")
    if max(cutoffs) > width:
        raise ValueError(f"cut-off {max(cutoffs)} exceeds the ranked-list length {width}")
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(METRIC_NAMES)}")
    if ndcg_idcg not in ("targets", "hits"):
        raise ValueError(f"ndcg_idcg must be 'targets' or 'hits', got {ndcg_idcg!r}")
    display = dict(METRIC_NAMES)
    display.update(names or {})

    hits = _membership(ids, values, splits) & _first_occurrence(ids)
    hits_f = hits.astype(np.float64)
    cum_hits = np.cumsum(hits_f, axis=1)  # [U, width]
    disc = _discounts(width)
    cum_dcg = np.cumsum(hits_f * disc, axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])  # ideal[n] = IDCG with n relevant
    # Rank of the first hit (width + 1 if none): argmax of a bool row finds the first True.
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, width + 1)

    per: dict[str, np.ndarray] = {}
    for n in cutoffs:
        n_hits = cum_hits[:, n - 1]
        for m in metrics:
            key = f"{display[m]}@{n}"
            if m == "hr":
                val = (n_hits > 0).astype(np.float64)
            elif m == "recall":
                val = n_hits / num_targets
            elif m == "precision":
                val = n_hits / n
            elif m == "ndcg":
                if ndcg_idcg == "targets":
                    idcg = ideal[np.minimum(num_targets, n)]
                else:
                    idcg = ideal[n_hits.astype(np.int64)]
                val = np.divide(cum_dcg[:, n - 1], idcg, out=np.zeros(num_users), where=idcg > 0)
            else:  # mrr
                val = np.where(first_hit <= n, 1.0 / first_hit, 0.0)
            per[key] = val
    summary = {key: float(val.mean()) for key, val in per.items()}
    return (summary, per) if per_user else summary


def umi_metrics(topk_ids, targets, cutoffs: Sequence[int] = (10, 50, 300), *, per_user=False):
    """UMI's metrics (Eq. 15): ``HitRate@N`` = |top-N ∩ T| / |T| and ``Precision@N``."""
    return full_ranking_metrics(
        topk_ids,
        targets,
        cutoffs,
        metrics=("recall", "precision"),
        per_user=per_user,
        names={"recall": "HitRate"},
    )


# --------------------------------------------------------------------------------------------
# Sampled-candidate metrics (MGNM protocol)
# --------------------------------------------------------------------------------------------


def sampled_ranking_metrics(
    scores,
    cutoffs: Sequence[int] = (5,),
    ties: str = "pessimistic",
    *,
    mask=None,
    per_user: bool = False,
):
    """HIT@k, NDCG@k, MRR@k and GAUC when each user ranks one positive among sampled negatives.

    Args:
      scores: float ``[U, 1 + N]``; column 0 is the positive, the others are negatives.
      cutoffs: the k of each ``@k``.
      ties: how negatives scoring exactly like the positive affect its 1-based rank
        ``1 + #(negatives strictly higher) + t``: ``"pessimistic"`` t = #ties,
        ``"optimistic"`` t = 0, ``"average"`` t = #ties / 2 (the rank may then be fractional;
        HIT@k is ``rank <= k``). GAUC always counts a tie as 1/2.
      mask: optional bool ``[U, 1 + N]`` marking real candidates when users have different
        numbers of negatives (``False`` entries are ignored). Column 0 must be True.
      per_user: also return per-user arrays (``"AUC"`` holds NaN for users without negatives).

    Returns:
      ``{"HIT@5", "NDCG@5", "MRR@5", ..., "GAUC"}``; GAUC is the per-user AUC averaged with
      weights equal to each user's number of scored candidates (1 + its negatives), over users
      with at least one negative. With ``per_user`` a ``(summary, per_user_dict)`` tuple.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"scores must be [users, 1 + negatives], got shape {s.shape}")
    if ties not in _TIE_POLICIES:
        raise ValueError(f"ties must be one of {_TIE_POLICIES}, got {ties!r}")
    if mask is None:
        valid = np.ones(s.shape, dtype=bool)
    else:
        valid = np.asarray(mask, dtype=bool)
        if valid.shape != s.shape:
            raise ValueError(f"mask shape {valid.shape} != scores shape {s.shape}")
        if not valid[:, 0].all():
            raise ValueError("mask[:, 0] (the positive) must be True for every user")
    cutoffs = [int(c) for c in cutoffs]
    if cutoffs and min(cutoffs) < 1:
        raise ValueError(f"cut-offs must be positive, got {cutoffs}")

    pos = s[:, :1]
    neg = s[:, 1:]
    neg_valid = valid[:, 1:]
    higher = np.sum((neg > pos) & neg_valid, axis=1).astype(np.float64)
    tied = np.sum((neg == pos) & neg_valid, axis=1).astype(np.float64)
    num_neg = neg_valid.sum(axis=1).astype(np.float64)

    tie_share = {"pessimistic": 1.0, "optimistic": 0.0, "average": 0.5}[ties]
    rank = 1.0 + higher + tie_share * tied

    per: dict[str, np.ndarray] = {}
    for k in cutoffs:
        inside = rank <= k
        per[f"HIT@{k}"] = inside.astype(np.float64)
        per[f"NDCG@{k}"] = np.where(inside, 1.0 / np.log2(rank + 1.0), 0.0)
        per[f"MRR@{k}"] = np.where(inside, 1.0 / rank, 0.0)

    has_neg = num_neg > 0
    lower = num_neg - higher - tied
    auc = np.divide(lower + 0.5 * tied, num_neg, out=np.full(num_neg.shape, np.nan), where=has_neg)
    weight = np.where(has_neg, 1.0 + num_neg, 0.0)
    summary = {key: float(val.mean()) for key, val in per.items()}
    summary["GAUC"] = (
        float(np.sum(weight * np.nan_to_num(auc)) / weight.sum()) if weight.sum() else np.nan
    )
    if per_user:
        per["AUC"] = auc
        return summary, per
    return summary


def gauc(scores, labels, groups, *, return_per_group: bool = False):
    """Group AUC: per-group AUC averaged with weights equal to the group size.

    Only groups with at least one positive and one negative take part. Ties between a
    positive and a negative count 1/2 (mid-ranks). Fully vectorised (one lexsort).

    Args:
      scores: float ``[n]``. labels: ``[n]``, positive where ``> 0``. groups: ``[n]`` group ids
        (e.g. user ids), any sortable dtype.
      return_per_group: also return ``(group_ids, auc, weight)`` for the qualifying groups.

    Returns:
      GAUC as a float (NaN when no group qualifies), or ``(gauc, group_ids, auc, weight)``.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = (np.asarray(labels).reshape(-1) > 0).astype(np.float64)
    g = np.asarray(groups).reshape(-1)
    if not (s.shape == y.shape == g.shape):
        raise ValueError("scores, labels and groups must have the same length")
    n = s.shape[0]
    if n == 0:
        return (np.nan, g[:0], s[:0], s[:0]) if return_per_group else np.nan

    order = np.lexsort((s, g))  # by group, then ascending score
    s, y, g = s[order], y[order], g[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new_run = new_group.copy()
    new_run[1:] |= s[1:] != s[:-1]
    group_id = np.cumsum(new_group) - 1
    run_id = np.cumsum(new_run) - 1
    group_start = np.flatnonzero(new_group)
    run_start = np.flatnonzero(new_run)
    run_end = np.append(run_start[1:], n) - 1
    # 1-based mid-rank inside the group: ties share the mean of their positions.
    midrank = (run_start[run_id] + run_end[run_id]) / 2.0 - group_start[group_id] + 1.0

    size = np.bincount(group_id).astype(np.float64)
    num_pos = np.bincount(group_id, weights=y)
    num_neg = size - num_pos
    pos_rank_sum = np.bincount(group_id, weights=y * midrank)
    ok = (num_pos > 0) & (num_neg > 0)
    auc = np.divide(
        pos_rank_sum - num_pos * (num_pos + 1.0) / 2.0,
        num_pos * num_neg,
        out=np.full(size.shape, np.nan),
        where=ok,
    )
    weight = np.where(ok, size, 0.0)
    value = float(np.sum(weight[ok] * auc[ok]) / weight[ok].sum()) if ok.any() else np.nan
    if return_per_group:
        return value, g[group_start][ok], auc[ok], weight[ok]
    return value


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def paired_t_test(a, b) -> tuple[float, float]:
    """Two-sided paired t-test (``scipy.stats.ttest_rel``) of per-user or per-run values."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    result = stats.ttest_rel(a, b)
    return float(result.statistic), float(result.pvalue)


def mean_std(values, ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation (sample std, ``ddof=1``, by default; NaN if too few)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("mean_std of no values")
    std = float(np.std(v, ddof=ddof)) if v.size > ddof else float("nan")
    return float(v.mean()), std
