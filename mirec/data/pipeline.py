"""tf.data input pipelines: sliding-window training samples and evaluation batches."""

from __future__ import annotations

from typing import Optional

import numpy as np

import mirec  # noqa: F401
import tensorflow as tf

from mirec.data.protocols import last_n


def sliding_window_samples(items, splits, users, max_len: int, min_history: int = 1,
                           max_samples_per_user: Optional[int] = None) -> dict:
    """Every (history, next item) pair of the training sequences.

    For each position t of a user's sequence with at least ``min_history`` earlier items,
    the sample is (the last ``max_len`` items before t, left-padded; item t). Vectorised.
    ``max_samples_per_user`` keeps only each user's last positions.

    Returns:
      ``{"history": (N, max_len) int32, "target": (N,) int32, "user": (N,) int32}``.
    """
    splits = np.asarray(splits, np.int64)
    lengths = np.diff(splits)
    row = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(len(items)) - splits[row]
    keep = pos >= min_history
    if max_samples_per_user is not None:
        keep &= pos >= (lengths[row] - max_samples_per_user)
    p = np.flatnonzero(keep)
    hist = last_n(np.asarray(items), p, splits[row[p]], max_len)
    return {"history": hist, "target": np.asarray(items)[p].astype(np.int32),
            "user": np.asarray(users)[row[p]].astype(np.int32)}


def random_target_samples(items, splits, users, max_len: int, rng: np.random.Generator,
                          min_history: int = 1) -> dict:
    """One sample per user: a random target position and the items before it (UMI)."""
    splits = np.asarray(splits, np.int64)
    lengths = np.diff(splits)
    ok = lengths > min_history
    s, n = splits[:-1][ok], lengths[ok]
    t = s + min_history + (rng.random(len(n)) * (n - min_history)).astype(np.int64)
    return {"history": last_n(np.asarray(items), t, s, max_len),
            "target": np.asarray(items)[t].astype(np.int32),
            "user": np.asarray(users)[ok].astype(np.int32)}


def fresh_random_target_dataset(items, splits, users, max_len: int, batch_size: int,
                                targets_per_user: int, seed: int = 0, min_history: int = 1,
                                user_features: Optional[dict] = None) -> tf.data.Dataset:
    """Like :func:`random_target_samples` x ``targets_per_user``, but the target positions
    are drawn afresh every epoch inside the pipeline (the official UMI/ComiRec iterators draw
    new random targets for every batch), so a run sees many more (history, target) pairs.

    Each epoch: every eligible user (more than ``min_history`` items) appears
    ``targets_per_user`` times in a random order; each occurrence draws a target position
    ``t`` uniformly from ``[min_history, length)`` and takes the last ``max_len`` items before
    it, left-padded. Batches are feature dicts like :func:`train_dataset`'s.
    """
    splits = np.asarray(splits, np.int64)
    lengths = np.diff(splits)
    ok = np.flatnonzero(lengths > min_history)
    n = len(ok) * int(targets_per_user)
    t_items = tf.constant(np.asarray(items, np.int32))
    t_start = tf.constant(splits[:-1][ok])
    t_len = tf.constant(lengths[ok])
    t_user = tf.constant(np.asarray(users, np.int32)[ok])
    tables = {k: tf.constant(np.asarray(v, np.int32)) for k, v in (user_features or {}).items()}
    gen = tf.random.Generator.from_seed(seed + 7)
    offsets = tf.range(-max_len, 0, dtype=tf.int64)  # positions t - max_len .. t - 1

    def epoch_rows(_):
        rows = tf.tile(tf.range(len(ok), dtype=tf.int64), [int(targets_per_user)])
        return tf.data.Dataset.from_tensor_slices(tf.random.shuffle(rows, seed=seed))

    def make_batch(r):
        s, ln = tf.gather(t_start, r), tf.gather(t_len, r)
        u = gen.uniform(tf.shape(r), dtype=tf.float64)
        t = s + min_history + tf.cast(u * tf.cast(ln - min_history, tf.float64), tf.int64)
        t = tf.minimum(t, s + ln - 1)
        pos = t[:, None] + offsets[None, :]
        valid = pos >= s[:, None]
        hist = tf.where(valid, tf.gather(t_items, tf.maximum(pos, 0)), 0)
        user = tf.gather(t_user, r)
        out = {"history": hist, "target": tf.gather(t_items, t), "user": user}
        for k, table in tables.items():
            out[k] = tf.gather(table, user)
        return out

    ds = tf.data.Dataset.from_tensors(0).flat_map(epoch_rows).batch(batch_size).map(make_batch)
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))
    return ds.prefetch(tf.data.AUTOTUNE)


def add_user_features(samples: dict, user_features: Optional[dict]) -> dict:
    """Adds profile columns ``{name: (num_users,) table}`` looked up by ``samples['user']``."""
    out = dict(samples)
    for name, table in (user_features or {}).items():
        out[name] = np.asarray(table)[samples["user"]].astype(np.int32)
    return out


def train_dataset(samples: dict, batch_size: int, seed: int = 0, shuffle: bool = True,
                  drop_remainder: bool = False, negatives: int = 0, num_items: int = 0,
                  item_probs: Optional[np.ndarray] = None) -> tf.data.Dataset:
    """Shuffled, batched, prefetched dataset of training feature dicts.

    Deterministic for a given ``seed`` (the shuffle order changes every epoch in the same
    way on every run). With ``negatives > 0``, adds ``"negatives"`` of shape
    ``(batch, negatives)``: uniform over 1..M or, with ``item_probs`` (M + 1,), by popularity
    (inverse-CDF sampling, O(log M) per draw).
    """
    n = len(samples["target"])
    tensors = {k: tf.constant(v) for k, v in samples.items()}
    if shuffle:
        # A fresh permutation each time the dataset is iterated (each Keras epoch), drawn in
        # one vectorised op: no shuffle buffer to refill with a million samples every epoch.
        def epoch_indices(_):
            perm = tf.random.shuffle(tf.range(n, dtype=tf.int64), seed=seed)
            return tf.data.Dataset.from_tensor_slices(perm)

        idx = tf.data.Dataset.from_tensors(0).flat_map(epoch_indices)
    else:
        idx = tf.data.Dataset.range(n)
    ds = idx.batch(batch_size, drop_remainder=drop_remainder).map(
        lambda i: {k: tf.gather(v, i) for k, v in tensors.items()})
    num_batches = n // batch_size if drop_remainder else -(-n // batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(num_batches))
    if negatives:
        if item_probs is not None:
            p = np.asarray(item_probs, np.float64).copy()
            p[0] = 0.0
            cdf = tf.constant(np.cumsum(p) / p.sum(), tf.float64)
        gen = tf.random.Generator.from_seed(seed + 1)

        def add_negs(batch):
            b = tf.shape(batch["target"])[0]
            if item_probs is None:
                neg = gen.uniform((b, negatives), 1, num_items + 1, dtype=tf.int64)
            else:
                u = gen.uniform((b * negatives,), dtype=tf.float64)
                neg = tf.reshape(tf.searchsorted(cdf, u, side="right"), (b, negatives))
                neg = tf.clip_by_value(tf.cast(neg, tf.int64), 1, num_items)
            batch["negatives"] = tf.cast(neg, tf.int32)
            return batch

        ds = ds.map(add_negs)
    return ds.prefetch(tf.data.AUTOTUNE)
