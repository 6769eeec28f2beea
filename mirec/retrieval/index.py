"""Multi-interest top-k retrieval: exact brute force, ScaNN (through TFRS) and serving export.

Conventions
-----------
* Queries have shape ``[B, K, D]``: K interest vectors per user (``[B, D]`` is read as K = 1).
* An item's score for a user is the maximum over the user's K vectors of the inner product.
* Item ids are integers ``1..M``; ``0`` is padding and is never returned. Result lists shorter
  than ``k`` are padded with id ``-1`` and score ``-inf``.
* ``exclude`` is a Ragged (see :mod:`mirec.metrics.ranking`) of item ids per user that must
  not be returned (e.g. already-seen items).

Multi-interest merging (ComiRec/UMI style): each interest vector retrieves its own top list,
the K lists are pooled, sorted by score, de-duplicated (an item keeps its best score), and cut
to k. If every vector retrieves ``k + E`` items, where E bounds the user's excluded ids, the
merged list is exactly the top-k by max-over-interests score: an item in the true top-k is
out-scored on its best interest only by excluded items (at most E) or by items that also beat
it on the max (fewer than k).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Mapping

import numpy as np

from mirec import compat as _compat  # noqa: F401  (must precede the TensorFlow import)

# isort: split
import tensorflow as tf

from mirec.metrics.ranking import (
    _first_occurrence,
    _membership,
    _row_ids,
    to_row_splits,
)

__all__ = [
    "BruteForceIndex",
    "ScaNNIndex",
    "export_retrieval_model",
    "load_retrieval_model",
    "merge_multi_interest",
    "merge_multi_interest_tf",
    "recall_vs_exact",
]

# ScaNN's asymmetric hashing trains 16 centres per block, so it needs at least 16 datapoints.
_SCANN_MIN_ROWS = 16


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _item_table(item_embeddings, ids) -> tuple[np.ndarray, np.ndarray]:
    """Returns (embeddings float32 [R, D], ids int64 [R]) without padding rows (id <= 0)."""
    emb = np.asarray(item_embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"item_embeddings must be 2-D [items, dim], got shape {emb.shape}")
    if ids is None:
        item_ids = np.arange(emb.shape[0], dtype=np.int64)  # row i is item id i; row 0 padding
    else:
        item_ids = np.asarray(ids).astype(np.int64).reshape(-1)
        if item_ids.shape[0] != emb.shape[0]:
            raise ValueError(f"{item_ids.shape[0]} ids for {emb.shape[0]} embedding rows")
        if np.unique(item_ids).shape[0] != item_ids.shape[0]:
            raise ValueError("item ids must be unique")
    keep = item_ids > 0
    emb, item_ids = emb[keep], item_ids[keep]
    if emb.shape[0] == 0:
        raise ValueError("no items to index (only padding rows)")
    return np.ascontiguousarray(emb), item_ids


def _as_queries(queries) -> np.ndarray:
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 2:
        q = q[:, None, :]
    if q.ndim != 3:
        raise ValueError(f"queries must be [B, K, D] (or [B, D]), got shape {q.shape}")
    return q


def _exclusion(exclude, num_users: int):
    """(values, row_splits) of the exclusion Ragged, or None."""
    if exclude is None:
        return None
    values, splits = to_row_splits(exclude)
    if splits.shape[0] - 1 != num_users:
        raise ValueError(f"exclude has {splits.shape[0] - 1} rows for {num_users} users")
    return values, splits


def _slice_ragged(ragged, start: int, stop: int):
    if ragged is None:
        return None
    values, splits = ragged
    return values[splits[start] : splits[stop]], splits[start : stop + 1] - splits[start]


def _take_rows(ragged, rows: np.ndarray):
    """Rows ``rows`` (any order) of a (values, row_splits) pair, as a new pair."""
    values, splits = ragged
    starts = splits[rows]
    lengths = splits[rows + 1] - starts
    new_splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    idx = np.arange(new_splits[-1]) - np.repeat(new_splits[:-1] - starts, lengths)
    return values[idx], new_splits


def _pad_results(scores: np.ndarray, ids: np.ndarray, k: int):
    if scores.shape[1] >= k:
        return scores[:, :k], ids[:, :k]
    pad = k - scores.shape[1]
    scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
    return scores, ids


# --------------------------------------------------------------------------------------------
# Merging per-interest lists
# --------------------------------------------------------------------------------------------


def merge_multi_interest(ids, scores, k: int, exclude=None):
    """Pools per-interest retrieval lists into one top-k list per user (NumPy, vectorised).

    Args:
      ids: int ``[B, P]`` (P = K * n, the K per-interest lists side by side).
      scores: float ``[B, P]``.
      k: length of the merged list.
      exclude: optional Ragged of ids per user to drop.

    Returns:
      ``(top_scores [B, k], top_ids [B, k] int64)``, best first. Ids ``<= 0`` (padding), scores
      ``-inf``/NaN and excluded ids are dropped; each id keeps its best score; missing entries
      are id -1 with score -inf. Equal scores keep their input order.
    """
    ids = np.asarray(ids)
    scores = np.asarray(scores)
    if ids.ndim != 2 or ids.shape != scores.shape:
        raise ValueError(f"ids {ids.shape} and scores {scores.shape} must be equal 2-D shapes")
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    ids = ids.astype(np.int64, copy=False)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    num_rows, width = ids.shape
    neg_inf = scores.dtype.type(-np.inf)

    valid = (ids > 0) & (scores > neg_inf)  # NaN compares False
    ex = _exclusion(exclude, num_rows)
    if ex is not None:
        valid &= ~_membership(ids, ex[0], ex[1])

    if width:
        # Sort by (row, id, score descending); the first entry of each (row, id) run is the
        # id's best copy. Invalid entries sort last within their id (they carry +inf keys).
        rows = np.broadcast_to(np.arange(num_rows, dtype=np.int64)[:, None], ids.shape)
        neg_key = np.where(valid, -scores.astype(np.float64), np.inf).ravel()
        order = np.lexsort((neg_key, ids.ravel(), rows.ravel()))
        flat_ids, flat_rows = ids.ravel()[order], rows.ravel()[order]
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = (flat_ids[1:] != flat_ids[:-1]) | (flat_rows[1:] != flat_rows[:-1])
        keep = np.empty(order.shape[0], dtype=bool)
        keep[order] = first
        valid &= keep.reshape(ids.shape)

    masked = np.where(valid, scores, neg_inf)
    take = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(masked, take, axis=1)
    top_ids = np.where(np.isneginf(top_scores), -1, np.take_along_axis(ids, take, axis=1))
    return _pad_results(top_scores, top_ids, k)


def merge_multi_interest_tf(ids, scores, k: int):
    """TensorFlow version of :func:`merge_multi_interest` (no exclusion) for serving graphs.

    De-duplication sorts twice (by score descending, then stably by id) so that the first entry
    of each id run is its best copy: O(P log P) per user instead of a ``[B, P, P]`` comparison.

    Returns:
      ``(top_scores [B, k], top_ids [B, k] int64)`` with -inf / -1 padding.
    """
    ids = tf.cast(tf.convert_to_tensor(ids), tf.int64)
    scores = tf.convert_to_tensor(scores)
    neg_inf = tf.constant(-np.inf, dtype=scores.dtype)
    valid = tf.logical_and(ids > 0, scores > neg_inf)
    s = tf.where(valid, scores, neg_inf)

    by_score = tf.argsort(s, axis=1, direction="DESCENDING", stable=True)
    ids1 = tf.gather(ids, by_score, batch_dims=1)
    s1 = tf.gather(s, by_score, batch_dims=1)
    by_id = tf.argsort(ids1, axis=1, stable=True)
    ids2 = tf.gather(ids1, by_id, batch_dims=1)
    first2 = tf.concat(
        [tf.ones_like(ids2[:, :1], dtype=tf.bool), tf.not_equal(ids2[:, 1:], ids2[:, :-1])],
        axis=1,
    )
    first1 = tf.gather(first2, tf.argsort(by_id, axis=1), batch_dims=1)  # inverse permutation
    s1 = tf.where(first1, s1, neg_inf)

    pad = tf.maximum(k - tf.shape(s1)[1], 0)
    s1 = tf.pad(s1, [[0, 0], [0, pad]], constant_values=-np.inf)
    ids1 = tf.pad(ids1, [[0, 0], [0, pad]], constant_values=-1)
    top_scores, pos = tf.math.top_k(s1, k=k)  # equal scores: lower position first
    top_ids = tf.gather(ids1, pos, batch_dims=1)
    top_ids = tf.where(top_scores > neg_inf, top_ids, tf.constant(-1, tf.int64))
    return top_scores, top_ids


# --------------------------------------------------------------------------------------------
# Exact index
# --------------------------------------------------------------------------------------------


class BruteForceIndex(tf.Module):
    """Exact max-over-interests inner-product retrieval with ``tf.matmul`` in user batches.

    Args:
      item_embeddings: ``[M + 1, D]`` where row i is item id i (row 0 = padding), or ``[R, D]``
        together with ``ids``.
      ids: optional int ``[R]`` item id of each row; rows with id ``<= 0`` are not indexed.
    """

    def __init__(self, item_embeddings, ids=None, name: str | None = None):
        super().__init__(name=name)
        emb, item_ids = _item_table(item_embeddings, ids)
        self._ids_np = item_ids
        self.embeddings = tf.Variable(emb, trainable=False, name="item_embeddings")
        self.item_ids = tf.Variable(item_ids, trainable=False, name="item_ids")
        col_of_id = np.full(int(item_ids.max()) + 1, -1, dtype=np.int64)
        col_of_id[item_ids] = np.arange(item_ids.shape[0])
        self._col_of_id = col_of_id

    @property
    def num_items(self) -> int:
        return int(self._ids_np.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def _scores_tf(self, queries):
        """Max-over-K scores ``[B, R]`` for queries ``[B, K, D]`` (TF ops)."""
        q = tf.convert_to_tensor(queries, tf.float32)
        b, kk = tf.shape(q)[0], tf.shape(q)[1]
        flat = tf.reshape(q, [-1, self.dim])
        s = tf.matmul(flat, self.embeddings, transpose_b=True)
        return tf.reduce_max(tf.reshape(s, [b, kk, -1]), axis=1)

    def _top_k_tf(self, scores, k: int):
        kk = min(k, self.num_items)
        top_scores, cols = tf.math.top_k(scores, k=kk)
        top_ids = tf.gather(self.item_ids, cols)
        top_ids = tf.where(top_scores > -np.inf, top_ids, tf.constant(-1, tf.int64))
        if kk < k:
            top_scores = tf.pad(top_scores, [[0, 0], [0, k - kk]], constant_values=-np.inf)
            top_ids = tf.pad(top_ids, [[0, 0], [0, k - kk]], constant_values=-1)
        return top_scores, top_ids

    def search_tf(self, queries, k: int):
        """Graph-friendly search without exclusion: ``(scores [B, k], ids [B, k])`` tensors."""
        q = tf.convert_to_tensor(queries, tf.float32)
        if q.shape.rank == 2:
            q = q[:, None, :]
        return self._top_k_tf(self._scores_tf(q), k)

    def search(self, queries, k: int, exclude=None, batch_size: int = 1024):
        """Exact top-k by max-over-interests score.

        Returns:
          ``(scores float32 [B, k], ids int64 [B, k])`` NumPy arrays.
        """
        q = _as_queries(queries)
        if q.shape[2] != self.dim:
            raise ValueError(f"query dim {q.shape[2]} != item dim {self.dim}")
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        ex = _exclusion(exclude, q.shape[0])
        # Cap the (users, K, items) score block at about 256 MB so that a million-item
        # catalogue does not allocate tens of GB at once.
        per_user = max(1, q.shape[1] * self.num_items)
        batch_size = max(1, min(batch_size, (64 * 1024 * 1024) // per_user))
        out_s, out_i = [], []
        for start in range(0, q.shape[0], batch_size):
            stop = min(start + batch_size, q.shape[0])
            scores = self._scores_tf(q[start:stop])
            part = _slice_ragged(ex, start, stop)
            if part is not None and part[0].size:
                values, splits = part
                rows = _row_ids(splits)
                in_range = values < self._col_of_id.shape[0]
                cols = np.full(values.shape, -1, dtype=np.int64)
                cols[in_range] = self._col_of_id[values[in_range]]
                hit = cols >= 0
                if hit.any():
                    idx = np.stack([rows[hit], cols[hit]], axis=1)
                    scores = tf.tensor_scatter_nd_update(
                        scores, idx, tf.fill([idx.shape[0]], -np.inf)
                    )
            top_s, top_i = self._top_k_tf(scores, k)
            out_s.append(top_s.numpy())
            out_i.append(top_i.numpy())
        if not out_s:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        return np.concatenate(out_s), np.concatenate(out_i)


# --------------------------------------------------------------------------------------------
# ScaNN index
# --------------------------------------------------------------------------------------------


class ScaNNIndex(tf.Module):
    """Approximate (or exact) multi-interest retrieval with TFRS's ScaNN layer.

    Args:
      item_embeddings, ids: as for :class:`BruteForceIndex`.
      k: default number of neighbours (TFRS's ``k``; also sizes the automatic reordering).
      num_leaves: tree partitions; default ``round(sqrt(R))``. Values above the number of
        indexed rows are clipped (ScaNN cannot train more partitions than points).
      num_leaves_to_search: partitions scanned per query; default ``ceil(num_leaves / 10)``.
      dimensions_per_block: asymmetric-hashing block size (TFRS default 2).
      num_reordering_candidates: candidates rescored exactly with float dot products.
        ``"auto"`` (default) = ``min(R, max(4 * k, 100))``; ``None`` = no reordering (scores
        are then the quantised approximations).
      training_iterations: k-means iterations of the tree.
      parallelize_batch_searches: ScaNN's parallel batched search.
      exact: ignore the four tuning arguments and build the exact configuration: one partition
        that is always searched and reordering over all R items, so every item is rescored
        with its exact float dot product before the top-n is taken; results equal brute force
        (up to float summation order and exact ties).

    Catalogues with fewer than 16 items (ScaNN's hashing needs 16 training points) are indexed
    with their rows repeated (merging removes the duplicates) in the exact configuration.
    """

    def __init__(
        self,
        item_embeddings,
        ids=None,
        *,
        k: int = 100,
        num_leaves: int | None = None,
        num_leaves_to_search: int | None = None,
        dimensions_per_block: int = 2,
        num_reordering_candidates: int | str | None = "auto",
        training_iterations: int = 12,
        parallelize_batch_searches: bool = True,
        exact: bool = False,
        name: str | None = None,
    ):
        super().__init__(name=name)
        import tensorflow_recommenders as tfrs

        emb, item_ids = _item_table(item_embeddings, ids)
        self._num_items = int(item_ids.shape[0])
        self._dim = int(emb.shape[1])
        self._replicated = emb.shape[0] < _SCANN_MIN_ROWS
        if self._replicated:
            reps = math.ceil(_SCANN_MIN_ROWS / emb.shape[0])
            emb = np.tile(emb, (reps, 1))
            item_ids = np.tile(item_ids, reps)
        rows = int(emb.shape[0])
        self._rows = rows

        if exact or self._replicated:
            exact = True  # tiny catalogues are always searched exactly
            num_leaves, num_leaves_to_search, reorder = 1, 1, rows
        else:
            if num_leaves is None:
                num_leaves = max(1, round(math.sqrt(rows)))
            elif num_leaves > rows:
                warnings.warn(
                    f"num_leaves={num_leaves} exceeds the {rows} indexed rows; using {rows}",
                    stacklevel=2,
                )
                num_leaves = rows
            num_leaves = int(max(1, num_leaves))
            if num_leaves_to_search is None:
                num_leaves_to_search = max(1, math.ceil(num_leaves / 10))
            num_leaves_to_search = int(min(max(1, num_leaves_to_search), num_leaves))
            if num_reordering_candidates == "auto":
                reorder = min(rows, max(4 * k, 100))
            elif num_reordering_candidates is None:
                reorder = None
            else:
                reorder = int(min(max(1, num_reordering_candidates), rows))
        self.exact = bool(exact)
        self.k = int(k)
        self.num_leaves = num_leaves
        self.num_leaves_to_search = num_leaves_to_search
        self.dimensions_per_block = int(dimensions_per_block)
        self.num_reordering_candidates = reorder
        self._parallel = bool(parallelize_batch_searches)

        self.layer = tfrs.layers.factorized_top_k.ScaNN(
            k=int(min(k, rows)),
            num_leaves=num_leaves,
            num_leaves_to_search=num_leaves_to_search,
            dimensions_per_block=self.dimensions_per_block,
            num_reordering_candidates=reorder,
            training_iterations=training_iterations,
            parallelize_batch_searches=self._parallel,
        )
        self.layer.index(tf.constant(emb), tf.constant(item_ids, dtype=tf.int64))

    @property
    def num_items(self) -> int:
        return self._num_items

    @property
    def dim(self) -> int:
        return self._dim

    def config(self) -> dict:
        """The effective ScaNN settings (for run records)."""
        return {
            "exact": self.exact,
            "num_items": self._num_items,
            "num_leaves": self.num_leaves,
            "num_leaves_to_search": self.num_leaves_to_search,
            "dimensions_per_block": self.dimensions_per_block,
            "num_reordering_candidates": self.num_reordering_candidates,
        }

    def _per_vector(self, k: int, extra: int = 0) -> int:
        """How many neighbours each interest vector must retrieve."""
        if self._replicated:
            return self._rows
        return int(min(k + extra, self._rows))

    def _search_flat(self, queries_2d, n: int):
        """Top-n for rank-2 queries: ``(scores [Q, n], ids [Q, n])`` tensors (eager or graph).

        With reordering, ScaNN returns at most ``num_reordering_candidates`` results per query,
        so larger requests go to the layer's searcher with a raised pre-reorder count.
        """
        reorder = self.num_reordering_candidates
        if reorder is None or n <= reorder:
            return self.layer(queries_2d, k=n)
        from scann.scann_ops.py import scann_ops

        serialized = getattr(self.layer, "_serialized_searcher", None)
        identifiers = getattr(self.layer, "_identifiers", None)
        if serialized is None or identifiers is None:  # pragma: no cover - TFRS internals moved
            raise ValueError(
                f"{n} neighbours per vector exceed num_reordering_candidates={reorder}; "
                "build the index with more reordering candidates"
            )
        searcher = scann_ops.searcher_from_module(serialized)
        search = searcher.search_batched_parallel if self._parallel else searcher.search_batched
        result = search(queries_2d, final_num_neighbors=n, pre_reorder_num_neighbors=n)
        return result.distances, tf.gather(identifiers, result.indices)

    def search(
        self,
        queries,
        k: int,
        exclude=None,
        batch_size: int = 1024,
        max_candidates: int = 4_000_000,
    ):
        """Top-k by max-over-interests score (each vector retrieves k + E, lists merged).

        With ``exclude``, users are processed in order of their number of excluded ids E, so a
        batch retrieves ``k + (largest E in the batch)`` neighbours per vector; batches are also
        cut so that ``batch * K * per_vector <= max_candidates`` (bounds memory for users with
        long histories).

        Returns:
          ``(scores float32 [B, k], ids int64 [B, k])`` NumPy arrays in the order of ``queries``.
        """
        q = _as_queries(queries)
        if q.shape[2] != self._dim:
            raise ValueError(f"query dim {q.shape[2]} != item dim {self._dim}")
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        num_users, num_interests = q.shape[0], q.shape[1]
        ex = _exclusion(exclude, num_users)
        if ex is None:
            order = np.arange(num_users)
            extra = np.zeros(num_users, dtype=np.int64)
        else:
            lengths = np.diff(ex[1])
            order = np.argsort(lengths, kind="stable")
            extra = lengths[order]
        if self._replicated:
            per_vector = np.full(num_users, self._rows, dtype=np.int64)
        else:
            per_vector = np.minimum(k + extra, self._rows)

        out_s = np.full((num_users, k), -np.inf, dtype=np.float32)
        out_i = np.full((num_users, k), -1, dtype=np.int64)
        start = 0
        while start < num_users:
            window = per_vector[start : start + batch_size]  # non-decreasing
            cost = np.arange(1, window.shape[0] + 1) * num_interests * window
            b = int(np.clip(np.searchsorted(cost, max_candidates, side="right"), 1, None))
            b = min(b, window.shape[0])
            users = order[start : start + b]
            n = int(window[b - 1])
            flat = tf.constant(q[users].reshape(b * num_interests, self._dim))
            scores, ids = self._search_flat(flat, n)
            scores = scores.numpy().reshape(b, -1)
            ids = ids.numpy().reshape(b, -1)
            part = None if ex is None else _take_rows(ex, users)
            top_s, top_i = merge_multi_interest(ids, scores, k, exclude=part)
            out_s[users] = top_s
            out_i[users] = top_i
            start += b
        return out_s, out_i

    def search_tf(self, queries, k: int):
        """Graph-friendly search without exclusion: ``(scores [B, k], ids [B, k])`` tensors."""
        q = tf.convert_to_tensor(queries, tf.float32)
        if q.shape.rank == 2:
            q = q[:, None, :]
        b = tf.shape(q)[0]
        n = self._per_vector(k)
        scores, ids = self._search_flat(tf.reshape(q, [-1, self._dim]), n)
        scores = tf.reshape(scores, [b, -1])
        ids = tf.reshape(tf.cast(ids, tf.int64), [b, -1])
        return merge_multi_interest_tf(ids, scores, k)


# --------------------------------------------------------------------------------------------
# Benchmark helper
# --------------------------------------------------------------------------------------------


def recall_vs_exact(approx_ids, exact_ids) -> float:
    """Mean over users of |approx ∩ exact| / |exact| (negative ids are padding, ignored).

    Users whose exact list is empty are skipped; NaN if no user remains.
    """
    approx = np.asarray(approx_ids).astype(np.int64)
    exact = np.asarray(exact_ids).astype(np.int64)
    if approx.ndim != 2 or exact.ndim != 2 or approx.shape[0] != exact.shape[0]:
        raise ValueError(f"need 2-D id arrays with equal rows, got {approx.shape}, {exact.shape}")
    values, splits = to_row_splits(exact)
    size = np.diff(splits)
    found = _membership(approx, values, splits) & _first_occurrence(approx)
    ok = size > 0
    if not ok.any():
        return float("nan")
    return float(np.mean(found.sum(axis=1)[ok] / size[ok]))


# --------------------------------------------------------------------------------------------
# Export for serving
# --------------------------------------------------------------------------------------------


def export_retrieval_model(
    user_tower,
    index,
    path,
    input_signature: Mapping[str, tf.TensorSpec],
    k: int = 100,
):
    """Saves a SavedModel that maps user features to the merged top-k item ids.

    The saved object has a ``tf.function`` ``serve(**features)`` (keyword names = the keys of
    ``input_signature``) returning ``{"scores": float32 [B, k], "ids": int64 [B, k]}``, also
    exported as the ``serving_default`` signature. The user tower is called as
    ``user_tower(features_dict, training=False)`` and must return ``[B, K, D]`` (or ``[B, D]``).
    Serving does not exclude seen items.

    Args:
      user_tower: Keras layer/model (or any trackable callable) producing query vectors.
      index: a :class:`ScaNNIndex` or :class:`BruteForceIndex`.
      path: output directory.
      input_signature: ``{feature_name: tf.TensorSpec}``; names must be Python identifiers.
      k: list length.
    """
    if not isinstance(index, (ScaNNIndex, BruteForceIndex)):
        raise TypeError(f"index must be a ScaNNIndex or BruteForceIndex, got {type(index)}")
    names = list(input_signature)
    if not names:
        raise ValueError("input_signature needs at least one feature")
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise ValueError(f"feature names must be Python identifiers, got {bad}")
    specs = [
        tf.TensorSpec(s.shape, s.dtype, name=s.name or n)
        for n, s in ((n, input_signature[n]) for n in names)
    ]

    module = tf.Module()
    module.user_tower = user_tower
    module.index = index

    def serve(*args, **kwargs):
        features = dict(zip(names, args))
        features.update(kwargs)
        queries = user_tower(features, training=False)
        scores, ids = index.search_tf(queries, k)
        return {"scores": scores, "ids": ids}

    serve.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    module.serve = tf.function(serve, input_signature=specs)
    tf.saved_model.save(
        module,
        str(path),
        signatures={"serving_default": module.serve.get_concrete_function()},
        options=tf.saved_model.SaveOptions(namespace_whitelist=["Scann"]),
    )
    return str(path)


def load_retrieval_model(path):
    """Loads a model saved by :func:`export_retrieval_model` (registers ScaNN ops first)."""
    try:
        from scann.scann_ops.py import scann_ops  # noqa: F401  (registers the Scann>* ops)
    except ImportError:  # pragma: no cover - a brute-force export loads without ScaNN
        pass
    return tf.saved_model.load(str(path))
