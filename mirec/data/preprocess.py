"""Preprocessing: rating thresholds, k-core filtering, chronological order, id remapping.

Every function returns a new table and never drops rows silently: filters log how many rows,
users and items they removed (``logging.info``) and return them in a stats dict.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

from mirec.data.errors import DataFormatError
from mirec.data.types import ITEM, RATING, TIMESTAMP, USER

log = logging.getLogger(__name__)


def filter_ratings(df: pd.DataFrame, min_rating: float, unknown: str = "error") -> pd.DataFrame:
    """Keeps rows with ``rating >= min_rating``.

    ``unknown`` says what to do with rows whose rating is NaN: ``"error"`` (default),
    ``"keep"`` or ``"drop"`` (both logged).
    """
    if RATING not in df:
        raise DataFormatError("<interactions>", None, f"a '{RATING}' column to threshold at "
                              f"{min_rating}", got=list(df.columns))
    r = df[RATING]
    nan = r.isna()
    if nan.any() and unknown == "error":
        raise DataFormatError("<interactions>", None, "known ratings for every row",
                              got=f"{int(nan.sum())} rows with unknown rating")
    keep = (r >= min_rating) | (nan & (unknown == "keep"))
    log.info("filter_ratings(>=%s): kept %d of %d rows", min_rating, int(keep.sum()), len(df))
    return df[keep.to_numpy()]


def kcore(df: pd.DataFrame, user_k: int = 5, item_k: int = 5, iterate: bool = True):
    """Removes users with < user_k and items with < item_k interactions.

    With ``iterate=True`` repeats until stable (a true k-core); otherwise one pass items then
    users (the ComiRec/SINE preprocessing order). Returns the filtered table.
    """
    before = len(df)
    while True:
        n = len(df)
        if item_k > 1:
            ic = df[ITEM].map(df[ITEM].value_counts())
            df = df[(ic >= item_k).to_numpy()]
        if user_k > 1:
            uc = df[USER].map(df[USER].value_counts())
            df = df[(uc >= user_k).to_numpy()]
        if not iterate or len(df) == n:
            break
    log.info("kcore(user>=%d, item>=%d): kept %d of %d rows", user_k, item_k, len(df), before)
    return df


def sort_chronologically(df: pd.DataFrame) -> pd.DataFrame:
    """Sorts by user then timestamp; ties keep source-file order (stable merge sort)."""
    return df.sort_values([USER, TIMESTAMP], kind="mergesort").reset_index(drop=True)


def dedupe_consecutive(df: pd.DataFrame) -> pd.DataFrame:
    """Drops an interaction identical to the user's previous one (optional clean-up)."""
    prev_u = df[USER].shift()
    prev_i = df[ITEM].shift()
    dup = (df[USER] == prev_u) & (df[ITEM] == prev_i)
    log.info("dedupe_consecutive: removed %d rows", int(dup.sum()))
    return df[~dup.to_numpy()].reset_index(drop=True)


@dataclasses.dataclass
class Sequences:
    """Per-user item sequences in time order, stored CSR-style.

    ``items[splits[u]:splits[u + 1]]`` is user u's sequence of item ids (1..M). ``user_ids``
    and ``item_ids`` map the indices back to raw ids (``item_ids[0]`` is padding).
    """

    items: np.ndarray
    splits: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray | None = None

    @property
    def num_users(self) -> int:
        return len(self.splits) - 1

    @property
    def num_items(self) -> int:
        return len(self.item_ids) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.splits)

    def user_of_position(self) -> np.ndarray:
        """(len(items),) user index of every position."""
        return np.repeat(np.arange(self.num_users), self.lengths)

    def sequence(self, u: int) -> np.ndarray:
        return self.items[self.splits[u]:self.splits[u + 1]]

    def num_interactions(self) -> int:
        return int(len(self.items))


def remap_ids(df: pd.DataFrame, item_order: str = "frequency") -> tuple[pd.DataFrame, np.ndarray,
                                                                         np.ndarray]:
    """Maps raw ids to user indices 0..U-1 and item ids 1..M (0 = padding).

    ``item_order="frequency"`` numbers items by decreasing interaction count (ties by first
    appearance), which log-uniform negative samplers assume; ``"first_seen"`` by first
    appearance in the (sorted) table.
    """
    users, uidx = np.unique(df[USER].to_numpy(), return_inverse=True)
    codes, raw_items = pd.factorize(df[ITEM], sort=False)  # first-seen order
    if item_order == "frequency":
        counts = np.bincount(codes, minlength=len(raw_items))
        order = np.lexsort((np.arange(len(raw_items)), -counts))  # count desc, first-seen asc
    elif item_order == "first_seen":
        order = np.arange(len(raw_items))
    else:
        raise ValueError(f"item_order must be 'frequency' or 'first_seen', got {item_order!r}")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    out = df.copy()
    out[USER] = uidx
    out[ITEM] = rank[codes] + 1
    item_ids = np.concatenate([[None], np.asarray(raw_items)[order]]).astype(object)
    return out, users, item_ids


def to_sequences(df: pd.DataFrame, item_order: str = "frequency") -> Sequences:
    """Chronologically sorted, id-remapped sequences of a canonical interaction table."""
    if len(df) == 0:
        raise DataFormatError("<interactions>", None, "at least one interaction")
    df = sort_chronologically(df)
    df, users, item_ids = remap_ids(df, item_order)
    counts = np.bincount(df[USER].to_numpy(), minlength=len(users))
    splits = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ts = df[TIMESTAMP].to_numpy() if TIMESTAMP in df else None
    return Sequences(items=df[ITEM].to_numpy().astype(np.int32), splits=splits,
                     user_ids=users, item_ids=item_ids, timestamps=ts)


def truncate_history(seqs: Sequences, max_len: int) -> Sequences:
    """Keeps only each user's last ``max_len`` items (long-history datasets)."""
    lengths = seqs.lengths
    keep_from = seqs.splits[1:] - np.minimum(lengths, max_len)
    pos = np.arange(len(seqs.items))
    keep = pos >= np.repeat(keep_from, lengths)
    new_len = np.minimum(lengths, max_len)
    splits = np.concatenate([[0], np.cumsum(new_len)]).astype(np.int64)
    return dataclasses.replace(
        seqs, items=seqs.items[keep], splits=splits,
        timestamps=None if seqs.timestamps is None else seqs.timestamps[keep])
