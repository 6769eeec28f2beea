"""Train/validation/test protocols of the four papers.

* :func:`leave_one_out` (SINE, MIRACLE): per user, the last item is the test target, the
  second-to-last the validation target, the rest is training; the test input includes the
  validation item.
* :func:`strong_generalization` (UMI, ComiRec): users split 8:1:1 by seed; validation/test
  users' first part of history is the input and the rest are targets.
* :func:`chronological_split` (MGNM): interactions split 7:1:2 in time order, per user or
  globally by record, with N sampled negatives per evaluated positive.

All of them return a :class:`Split`. Evaluation inputs are left-padded histories of the last
``max_len`` items; ``seen`` lists the items to exclude from full ranking when masking is on.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

import numpy as np

from mirec.data.preprocess import Sequences

log = logging.getLogger(__name__)


@dataclasses.dataclass
class EvalSet:
    """Evaluation queries.

    Attributes:
      users: (U,) user indices.
      history: (U, max_len) int32, left-padded input items (most recent last).
      targets: ragged targets, ``(values, row_splits)``.
      seen: ragged items the user already interacted with, ``(values, row_splits)``.
      candidates: optional (U, 1 + N) sampled candidates, column 0 the positive.
    """

    users: np.ndarray
    history: np.ndarray
    targets: tuple
    seen: tuple
    candidates: Optional[np.ndarray] = None

    def __len__(self):
        return len(self.users)

    def features(self, user_features: Optional[dict] = None) -> dict:
        f = {"history": self.history, "user": self.users.astype(np.int32)}
        for name, table in (user_features or {}).items():
            f[name] = table[self.users]
        return f

    def subset(self, idx) -> "EvalSet":
        idx = np.asarray(idx)
        return EvalSet(self.users[idx], self.history[idx], ragged_take(self.targets, idx),
                       ragged_take(self.seen, idx),
                       None if self.candidates is None else self.candidates[idx])


@dataclasses.dataclass
class Split:
    """A protocol's output.

    ``train`` holds the training sequences: (items, row_splits, user index per row).
    """

    train: tuple
    valid: EvalSet
    test: EvalSet
    num_users: int
    num_items: int
    protocol: str
    stats: dict = dataclasses.field(default_factory=dict)


def ragged_take(ragged, idx):
    """Rows ``idx`` of a ``(values, row_splits)`` ragged array."""
    values, splits = ragged
    idx = np.asarray(idx, dtype=np.int64)
    starts, ends = splits[idx], splits[idx + 1]
    lengths = ends - starts
    new_splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    pos = np.arange(new_splits[-1]) - np.repeat(new_splits[:-1], lengths) + np.repeat(starts,
                                                                                     lengths)
    return values[pos], new_splits


def ragged_from_bounds(values, starts, ends):
    """Ragged rows ``values[starts[i]:ends[i]]``."""
    starts = np.asarray(starts, np.int64)
    lengths = np.maximum(np.asarray(ends, np.int64) - starts, 0)
    splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    pos = np.arange(splits[-1]) - np.repeat(splits[:-1], lengths) + np.repeat(starts, lengths)
    return values[pos], splits


def last_n(values, ends, starts, n):
    """(len(ends), n) int32 left-padded windows ``values[max(start, end - n):end]``."""
    ends = np.asarray(ends, np.int64)
    starts = np.asarray(starts, np.int64)
    idx = ends[:, None] - n + np.arange(n)[None, :]
    valid = idx >= starts[:, None]
    out = np.where(valid, values[np.clip(idx, 0, max(len(values) - 1, 0))], 0)
    return out.astype(np.int32)


def leave_one_out(seqs: Sequences, max_len: int, min_length: int = 3) -> Split:
    """Per-user leave-last-one-out (SINE Sec. 5.1, MIRACLE).

    Users with fewer than ``min_length`` items cannot give a train/valid/test triple: they
    stay in training with their whole sequence and are counted in ``stats`` (never dropped
    silently).
    """
    s = seqs.splits
    lengths = np.diff(s)
    ok = lengths >= min_length
    users = np.flatnonzero(ok)
    starts, ends = s[:-1], s[1:]
    train_ends = np.where(ok, ends - 2, ends)
    train = ragged_from_bounds(seqs.items, starts, train_ends)
    v_end, t_end = ends[users] - 2, ends[users] - 1
    valid = EvalSet(
        users=users, history=last_n(seqs.items, v_end, starts[users], max_len),
        targets=(seqs.items[v_end], np.arange(len(users) + 1, dtype=np.int64)),
        seen=ragged_from_bounds(seqs.items, starts[users], v_end))
    test = EvalSet(
        users=users, history=last_n(seqs.items, t_end, starts[users], max_len),
        targets=(seqs.items[t_end], np.arange(len(users) + 1, dtype=np.int64)),
        seen=ragged_from_bounds(seqs.items, starts[users], t_end))
    stats = {"users_evaluated": int(len(users)), "users_train_only": int((~ok).sum())}
    if (~ok).any():
        log.warning("leave_one_out: %d users with < %d items are used for training only",
                    int((~ok).sum()), min_length)
    return Split((train[0], train[1], np.arange(seqs.num_users)), valid, test,
                 seqs.num_users, seqs.num_items, "leave_one_out", stats)


def strong_generalization(seqs: Sequences, max_len: int, fractions=(0.8, 0.1, 0.1),
                          history_fraction: float = 0.9, seed: int = 0,
                          min_targets: int = 1) -> Split:
    """Held-out users (UMI: 90/10 history/targets; ComiRec: 80/20).

    Users are shuffled with ``seed`` and split by ``fractions``. For a held-out user with m
    items, the first ``max(1, min(m - min_targets, floor(history_fraction * m)))`` items are
    the history (input: its last ``max_len``) and the remaining ones the targets. Held-out
    users with fewer than 2 items cannot be evaluated and are counted in ``stats``.
    """
    rng = np.random.default_rng(seed)
    n_users = seqs.num_users
    perm = rng.permutation(n_users)
    n_train = int(round(fractions[0] * n_users))
    n_valid = int(round(fractions[1] * n_users))
    tr, va, te = perm[:n_train], perm[n_train:n_train + n_valid], perm[n_train + n_valid:]
    tr = np.sort(tr)
    s = seqs.splits
    train = ragged_take((seqs.items, s), tr)

    def held_out(users):
        users = np.sort(users)
        m = s[users + 1] - s[users]
        ok = m >= 2
        users, m = users[ok], m[ok]
        h = np.maximum(1, np.minimum(m - min_targets, np.floor(history_fraction * m))).astype(
            np.int64)
        starts = s[users]
        cut = starts + h
        return EvalSet(users=users, history=last_n(seqs.items, cut, starts, max_len),
                       targets=ragged_from_bounds(seqs.items, cut, s[users + 1]),
                       seen=ragged_from_bounds(seqs.items, starts, cut)), int((~ok).sum())

    valid, v_bad = held_out(va)
    test, t_bad = held_out(te)
    stats = {"train_users": int(len(tr)), "valid_users": int(len(valid)),
             "test_users": int(len(test)), "held_out_too_short": v_bad + t_bad}
    return Split((train[0], train[1], tr), valid, test, n_users, seqs.num_items,
                 "strong_generalization", stats)


def sample_negatives_excluding(rng, num_items, positives_seen, n, rows):
    """(rows, n) item ids in 1..M drawn uniformly, avoiding each row's ``positives_seen``.

    ``positives_seen`` is a ragged ``(values, splits)`` of forbidden ids per row. Collisions
    are redrawn (vectorised rejection sampling).
    """
    values, splits = positives_seen
    lengths = np.diff(splits)
    forbidden = np.repeat(np.arange(rows, dtype=np.int64), lengths) * (num_items + 1) + values
    forbidden = np.unique(forbidden)
    out = rng.integers(1, num_items + 1, size=(rows, n))
    for _ in range(100):
        key = np.arange(rows)[:, None] * (num_items + 1) + out
        bad = np.isin(key, forbidden)
        if not bad.any():
            return out.astype(np.int32)
        out[bad] = rng.integers(1, num_items + 1, size=int(bad.sum()))
    raise ValueError("could not sample negatives: users have seen almost every item")


def chronological_split(seqs: Sequences, max_len: int, ratios=(0.7, 0.1, 0.2),
                        mode: str = "global", num_negatives: int = 1000, seed: int = 0,
                        min_history: int = 1) -> Split:
    """Time-ordered 7:1:2 split with sampled negatives (MGNM Sec. 4.1).

    ``mode="global"``: all interactions ordered by timestamp (ties by user sequence order)
    and cut by record count (the official MGNM code); ``mode="per_user"``: each user's
    sequence is cut at the same fractions. Every validation/test interaction with at least
    ``min_history`` earlier items becomes one query whose history is all earlier items (of
    any split) and whose candidates are the positive plus ``num_negatives`` items the user
    never interacted with.
    """
    s = seqs.splits
    n = len(seqs.items)
    user_of = seqs.user_of_position()
    pos_in_seq = np.arange(n) - s[user_of]
    if mode == "global":
        if seqs.timestamps is None:
            raise ValueError("a global chronological split needs timestamps")
        order = np.lexsort((pos_in_seq, seqs.timestamps))
        part = np.empty(n, np.int8)
        c1 = int(round(ratios[0] * n))
        c2 = int(round((ratios[0] + ratios[1]) * n))
        part[order[:c1]], part[order[c1:c2]], part[order[c2:]] = 0, 1, 2
    elif mode == "per_user":
        m = np.diff(s)[user_of]
        frac = pos_in_seq / m
        part = np.where(frac < ratios[0], 0, np.where(frac < ratios[0] + ratios[1], 1, 2))
        part = part.astype(np.int8)
    else:
        raise ValueError(f"mode must be 'global' or 'per_user', got {mode!r}")
    # Training sequences: each user's training-part positions (in order).
    tr_keep = part == 0
    tr_lengths = np.bincount(user_of[tr_keep], minlength=seqs.num_users)
    train = (seqs.items[tr_keep], np.concatenate([[0], np.cumsum(tr_lengths)]).astype(np.int64),
             np.arange(seqs.num_users))
    rng = np.random.default_rng(seed)
    all_seen = (seqs.items, s)

    def queries(which):
        p = np.flatnonzero((part == which) & (pos_in_seq >= min_history))
        users = user_of[p]
        hist = last_n(seqs.items, p, s[users], max_len)
        seen = ragged_take(all_seen, users)
        negs = sample_negatives_excluding(rng, seqs.num_items, seen, num_negatives, len(p))
        cands = np.concatenate([seqs.items[p][:, None], negs], axis=1).astype(np.int32)
        return EvalSet(users=users, history=hist,
                       targets=(seqs.items[p], np.arange(len(p) + 1, dtype=np.int64)),
                       seen=ragged_from_bounds(seqs.items, s[users], p), candidates=cands)

    valid, test = queries(1), queries(2)
    stats = {"train_interactions": int(tr_keep.sum()), "valid_queries": len(valid),
             "test_queries": len(test), "mode": mode}
    return Split(train, valid, test, seqs.num_users, seqs.num_items,
                 f"chronological_{mode}", stats)
