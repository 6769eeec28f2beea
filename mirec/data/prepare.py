"""From a dataset config to a protocol split and the model-facing :class:`DatasetInfo`."""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

import numpy as np
import pandas as pd

from mirec.data import preprocess, protocols, synthetic
from mirec.data.types import ITEM, USER, DatasetInfo, InteractionData

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Prepared:
    """Everything training and evaluation need."""

    split: protocols.Split
    info: DatasetInfo
    sequences: preprocess.Sequences
    user_features: dict  # {field: (num_users,) int32 codes, 0 = unknown}
    stats: dict
    item_features: Optional[pd.DataFrame] = None  # the reader's table, by raw item id


def load_interactions(cfg, data_dir: Optional[str] = None) -> InteractionData:
    """Reads the dataset named by ``cfg.name`` (``synthetic`` is generated in memory)."""
    if cfg.name == "synthetic":
        return synthetic.generate(**dict(cfg.get("synthetic", {})))
    from mirec.data import registry  # local: the registry imports every reader

    kwargs = dict(cfg.get("reader_kwargs", {}))
    return registry.load(cfg.name, data_dir=data_dir, **kwargs)


def _profile_codes(user_features: Optional[pd.DataFrame], user_ids, fields) -> tuple[dict, dict]:
    """Categorical profile columns as int codes per user index (0 = unknown)."""
    tables, vocab = {}, {}
    if user_features is None or not fields:
        return tables, vocab
    uf = user_features.reindex(pd.Index(user_ids))
    for f in fields:
        codes, uniques = pd.factorize(uf[f], sort=True)
        tables[f] = (codes + 1).astype(np.int32)  # -1 (missing) -> 0
        vocab[f] = len(uniques) + 1
    return tables, vocab


def _item_category(item_features: Optional[pd.DataFrame], item_ids, column) -> Optional[np.ndarray]:
    if item_features is None or not column or column not in item_features:
        return None
    col = item_features[column].reindex(pd.Index(item_ids[1:]))
    if col.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        col = col.map(lambda v: v[0] if len(v) else None)  # first category of a list
    codes, _ = pd.factorize(col, sort=True)
    return np.concatenate([[0], codes + 1]).astype(np.int32)


def corrupt_profiles(tables: dict, vocab: dict, fraction: float, seed: int = 0) -> dict:
    """Replaces a random ``fraction`` of all (user, field) profile values by a uniformly drawn
    valid value (UMI Table 5: "randomly corrupt 10% features with noise")."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(tables):
        codes = tables[name].copy()
        hit = rng.random(len(codes)) < fraction
        codes[hit] = rng.integers(1, max(vocab[name], 2), size=int(hit.sum()))
        out[name] = codes.astype(np.int32)
    return out


def _text_features(cfg, item_ids, data_dir) -> Optional[np.ndarray]:
    """``(M + 1, F)`` item text features from ``cfg.text_features`` (a file written by
    ``python -m mirec.data encode-text``), aligned to the prepared item ids; None if unset."""
    path = cfg.get("text_features", "")
    if not path:
        return None
    from mirec.data import text  # local: only text-based models need it

    return text.load_item_text_features(path, item_ids, data_dir=data_dir)


def load_and_filter(cfg, data_dir: Optional[str] = None, seed: int = 0):
    """The dataset as ``cfg`` filters it, before any split: ``(raw, sequences, stats)``.

    ``stats["filtered"]`` holds the users/items/interactions a paper's statistics table
    reports (``experiments/dataset_stats.py`` prints them beside the paper's).
    """
    raw = load_interactions(cfg, data_dir)
    df = raw.interactions
    stats = {"raw": raw.summary(), "source": raw.source}
    if cfg.get("max_users", 0):
        # Subsample users (for a quick run on a huge log); every row of a kept user stays.
        users = df[USER].unique()
        if len(users) > cfg.max_users:
            keep = np.random.default_rng(seed).choice(users, size=cfg.max_users, replace=False)
            df = df[df[USER].isin(keep).to_numpy()]
            stats["max_users"] = int(cfg.max_users)
            log.info("max_users: kept %d of %d users (%d rows)", cfg.max_users, len(users),
                     len(df))
    if cfg.get("min_rating") is not None:
        df = preprocess.filter_ratings(df, cfg.min_rating, unknown=cfg.get("unknown_rating",
                                                                           "error"))
    if cfg.get("user_core", 0) or cfg.get("item_core", 0):
        df = preprocess.kcore(df, cfg.get("user_core", 0), cfg.get("item_core", 0),
                              iterate=cfg.get("iterate_core", True))
    seqs = preprocess.to_sequences(df, item_order=cfg.get("item_order", "frequency"))
    stats["filtered"] = {"users": seqs.num_users, "items": seqs.num_items,
                         "interactions": seqs.num_interactions()}
    return raw, seqs, stats


def prepare(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Prepared:
    """Loads, preprocesses and splits a dataset as ``cfg`` (the ``config.dataset`` section) says.

    Fields: ``name``; ``min_rating`` (None = keep all); ``user_core``/``item_core`` (k-core;
    0 = none); ``item_order`` (``frequency``/``first_seen``); ``max_len``; ``protocol``
    (``leave_one_out``/``strong_generalization``/``chronological``) with its options;
    ``profile_fields``; ``category_column``.
    """
    raw, seqs, stats = load_and_filter(cfg, data_dir, seed)
    max_len = int(cfg.max_len)
    protocol = cfg.get("protocol", "leave_one_out")
    if protocol == "leave_one_out":
        split = protocols.leave_one_out(seqs, max_len)
    elif protocol == "strong_generalization":
        split = protocols.strong_generalization(
            seqs, max_len, fractions=tuple(cfg.get("user_fractions", (0.8, 0.1, 0.1))),
            history_fraction=cfg.get("history_fraction", 0.9), seed=cfg.get("split_seed", seed))
    elif protocol == "chronological":
        split = protocols.chronological_split(
            seqs, max_len, ratios=tuple(cfg.get("ratios", (0.7, 0.1, 0.2))),
            mode=cfg.get("split_mode", "global"), num_negatives=cfg.get("eval_negatives", 1000),
            seed=cfg.get("split_seed", seed))
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    stats["split"] = split.stats
    user_tables, vocab = _profile_codes(raw.user_features, seqs.user_ids,
                                        list(cfg.get("profile_fields", [])))
    if cfg.get("profile_noise", 0.0):
        user_tables = corrupt_profiles(user_tables, vocab, cfg.profile_noise,
                                       seed=cfg.get("noise_seed", 0))
        stats["profile_noise"] = float(cfg.profile_noise)
    train_items = split.train[0]
    popularity = np.bincount(train_items, minlength=seqs.num_items + 1)
    info = DatasetInfo(
        name=cfg.name, num_users=seqs.num_users, num_items=seqs.num_items, max_len=max_len,
        profile_vocab=vocab,
        item_category=_item_category(raw.item_features, seqs.item_ids,
                                     cfg.get("category_column", None)),
        item_popularity=popularity,
        item_text_features=_text_features(cfg, seqs.item_ids, data_dir))
    log.info("prepared %s: %s", cfg.name, stats["filtered"])
    return Prepared(split, info, seqs, user_tables, stats, item_features=raw.item_features)


__all__ = ["Prepared", "prepare", "load_interactions", "USER", "ITEM"]
