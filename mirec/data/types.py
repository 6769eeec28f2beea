"""The canonical in-memory form every reader produces."""

from __future__ import annotations

import dataclasses
from typing import Optional

import pandas as pd

# Column names of the canonical interaction table.
USER, ITEM, TIMESTAMP, RATING = "user", "item", "timestamp", "rating"


@dataclasses.dataclass
class InteractionData:
    """One dataset as read from its files, before any filtering or id remapping.

    Attributes:
      name: dataset name, e.g. ``"ml-1m"``.
      interactions: one row per interaction with columns ``user`` and ``item`` (raw ids,
        int64 or str), ``timestamp`` (int64; where a source has no clock this is the
        position in the user's time-ordered sequence) and optionally ``rating`` (float,
        NaN when unknown). Row order is the order in the source file, which readers keep so
        that chronological sorting can break timestamp ties stably by file order.
      user_features: optional table indexed by raw user id (categorical columns, e.g.
        MovieLens ``gender``, ``age``, ``occupation``).
      item_features: optional table indexed by raw item id (e.g. ``genres`` as a list of
        strings, ``category``, ``title``, ``text``).
      source: where the data came from (file or folder), for messages and run records.
    """

    name: str
    interactions: pd.DataFrame
    user_features: Optional[pd.DataFrame] = None
    item_features: Optional[pd.DataFrame] = None
    source: str = ""

    def summary(self) -> dict:
        df = self.interactions
        return {
            "name": self.name,
            "users": int(df[USER].nunique()),
            "items": int(df[ITEM].nunique()),
            "interactions": int(len(df)),
        }


@dataclasses.dataclass
class DatasetInfo:
    """What a model needs to know about a prepared dataset.

    Attributes:
      name: dataset name.
      num_users: number of users (user indices 0..num_users-1).
      num_items: M; item ids are 1..M and 0 is padding.
      max_len: history length n fed to the user tower.
      profile_vocab: ``{field: vocabulary size}`` of categorical user profile features
        (value 0 is reserved for unknown).
      item_category: optional ``(M + 1,)`` int array, a category id per item (0 = none).
      item_popularity: optional ``(M + 1,)`` training-interaction count per item.
      item_text_features: optional ``(M + 1, F)`` float32 text features per item (row 0, the
        padding item, is zeros), loaded from ``config.dataset.text_features``.
    """

    name: str
    num_users: int
    num_items: int
    max_len: int
    profile_vocab: dict = dataclasses.field(default_factory=dict)
    item_category: Optional[object] = None
    item_popularity: Optional[object] = None
    item_text_features: Optional[object] = None
