"""Item text features: files of per-item vectors and their alignment with prepared item ids.

A text-feature file is an ``.npz`` with ``item_ids`` (the raw item ids of the dataset's
reader, as strings) and ``features`` (``(n, F)`` float32), written by
``python -m mirec.data encode-text`` (or converted from a UniSRec ``.feat1CLS`` release).
:func:`load_item_text_features` aligns it with the prepared item ids (0 = padding).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from mirec.data.errors import DataFormatError


def save_item_text_features(path, item_ids, features) -> str:
    """Writes ``features[i]`` for raw item id ``item_ids[i]``; returns the path."""
    features = np.asarray(features, np.float32)
    item_ids = np.asarray([str(i) for i in item_ids])
    if features.ndim != 2 or len(features) != len(item_ids):
        raise ValueError(f"features must be (len(item_ids), F), got {features.shape} for "
                         f"{len(item_ids)} ids")
    path = str(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, item_ids=item_ids, features=features)
    return path if path.endswith(".npz") else path + ".npz"


def resolve_path(path, data_dir: Optional[str] = None) -> Path:
    """``path`` as given if it exists, else relative to ``data_dir``."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_file() or p.is_absolute() or not data_dir:
        return p
    return Path(data_dir).expanduser() / p


def load_item_text_features(path, item_ids, data_dir: Optional[str] = None) -> np.ndarray:
    """``(M + 1, F)`` float32 features in prepared-id order; row 0 (padding) is zeros.

    Args:
      path: an ``.npz`` written by :func:`save_item_text_features` (relative paths are also
        looked up under ``data_dir``).
      item_ids: the prepared raw ids, ``item_ids[0]`` being padding (``Sequences.item_ids``).

    Raises:
      FileNotFoundError: the file is missing (the message says how to make it).
      DataFormatError: the file lacks ``item_ids``/``features`` or misses prepared items.
    """
    p = resolve_path(path, data_dir)
    if not p.is_file():
        raise FileNotFoundError(
            f"item text features {p} not found; compute them with "
            f"`python -m mirec.data encode-text DATASET --out {p}`")
    with np.load(p, allow_pickle=False) as z:
        if "item_ids" not in z or "features" not in z:
            raise DataFormatError(str(p), None,
                                  "an .npz with arrays 'item_ids' and 'features'")
        ids, feats = z["item_ids"].astype(str), z["features"].astype(np.float32)
    if feats.ndim != 2 or len(feats) != len(ids):
        raise DataFormatError(str(p), None, f"'features' of shape (len(item_ids)={len(ids)}, F),"
                              f" got {feats.shape}")
    row = {k: i for i, k in enumerate(ids)}
    wanted = [str(i) for i in list(item_ids)[1:]]
    missing = [k for k in wanted if k not in row]
    if missing:
        raise DataFormatError(str(p), None, f"a feature row for every item of the prepared data; "
                              f"{len(missing)} of {len(wanted)} missing, e.g. {missing[:5]}")
    out = np.zeros((len(wanted) + 1, feats.shape[1]), np.float32)
    out[1:] = feats[[row[k] for k in wanted]]
    return out
