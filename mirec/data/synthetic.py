"""A synthetic dataset with planted multiple interests and sequential drift.

Items belong to ``num_clusters`` topics; each item has a within-topic popularity drawn from a
Zipf law. Each user holds ``interests_per_user`` topics. A user's sequence is generated step
by step: with probability ``stay_prob`` the next item comes from the current topic, otherwise
the user switches to another of their topics; with probability ``drift_prob`` per step one
of the user's topics is replaced by a new one (interest drift). The next item is therefore
predictable only up to *which* of several topics comes next, which is what multi-interest
models capture and a single mean-pooled vector cannot: its best direction lies between the
user's topics.

This is the built-in dataset of ``make demo`` and of the tests (no download).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mirec.data.types import ITEM, RATING, TIMESTAMP, USER, InteractionData


def generate(num_users: int = 2000, num_items: int = 1000, num_clusters: int = 50,
             interests_per_user: int = 4, min_length: int = 20, max_length: int = 60,
             stay_prob: float = 0.5, drift_prob: float = 0.01, zipf: float = 1.1,
             seed: int = 0) -> InteractionData:
    """Generates the dataset (vectorised over users; one loop over time steps).

    Returns:
      :class:`InteractionData` with ``item_features["category"]`` holding each item's topic
      and a small user profile (``gender``, ``age``) correlated with the first topic.
    """
    rng = np.random.default_rng(seed)
    cluster_of = rng.integers(0, num_clusters, size=num_items)
    cluster_of[:num_clusters] = np.arange(num_clusters)  # every topic non-empty
    # Within-topic popularity: Zipf over a random order of the topic's items.
    weight = np.empty(num_items)
    members = []
    for c in range(num_clusters):
        idx = np.flatnonzero(cluster_of == c)
        rng.shuffle(idx)
        weight[idx] = 1.0 / np.arange(1, len(idx) + 1) ** zipf
        members.append(idx)
    # Per-topic inverse-CDF tables, padded to the largest topic.
    width = max(len(m) for m in members)
    table = np.zeros((num_clusters, width), np.int64)
    cdf = np.ones((num_clusters, width))
    for c, m in enumerate(members):
        w = weight[m] / weight[m].sum()
        table[c, :len(m)] = m
        cdf[c, :len(m)] = np.cumsum(w)

    k = interests_per_user
    topics = np.stack([rng.choice(num_clusters, size=k, replace=False) for _ in range(num_users)])
    lengths = rng.integers(min_length, max_length + 1, size=num_users)
    t_max = int(lengths.max())
    current = rng.integers(0, k, size=num_users)
    seq = np.zeros((num_users, t_max), np.int64)
    for t in range(t_max):
        switch = rng.random(num_users) > stay_prob
        current = np.where(switch, rng.integers(0, k, size=num_users), current)
        drift = rng.random(num_users) < drift_prob
        slot = rng.integers(0, k, size=num_users)
        topics[drift, slot[drift]] = rng.integers(0, num_clusters, size=int(drift.sum()))
        c = topics[np.arange(num_users), current]
        u = rng.random(num_users)
        j = (cdf[c] < u[:, None]).sum(axis=1)
        j = np.minimum(j, (cdf[c] < 1.0 + 1e-12).sum(axis=1) - 1)
        seq[:, t] = table[c, j]
    valid = np.arange(t_max)[None, :] < lengths[:, None]
    users = np.repeat(np.arange(num_users), lengths)
    items = seq[valid]
    ts = np.tile(np.arange(t_max), (num_users, 1))[valid]
    df = pd.DataFrame({USER: users.astype(np.int64), ITEM: items.astype(np.int64) + 1,
                       TIMESTAMP: ts.astype(np.int64), RATING: np.full(len(users), 5.0)})
    item_features = pd.DataFrame({"category": cluster_of + 1},
                                 index=pd.Index(np.arange(num_items) + 1, name=ITEM))
    first = topics[:, 0]
    user_features = pd.DataFrame({"gender": first % 2 + 1, "age": first % 7 + 1},
                                 index=pd.Index(np.arange(num_users), name=USER))
    return InteractionData("synthetic", df, user_features=user_features,
                           item_features=item_features, source=f"mirec.data.synthetic(seed={seed})")
