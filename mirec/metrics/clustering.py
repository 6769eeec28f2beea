"""Clustering agreement: normalised mutual information (SINE Table 5)."""

import numpy as np


def normalized_mutual_info(labels_a, labels_b) -> float:
    """NMI with arithmetic-mean normalisation: ``I(A; B) / ((H(A) + H(B)) / 2)``.

    Natural logs (the ratio does not depend on the base). Returns 1.0 when both labelings are
    a single identical cluster, and 0.0 when exactly one of them has no entropy.
    """
    a = np.asarray(labels_a)
    b = np.asarray(labels_b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two 1-D label arrays of equal length, got {a.shape}, {b.shape}")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    n = len(a)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    p = joint / n
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    if ha == 0 and hb == 0:
        return 1.0
    if ha == 0 or hb == 0:
        return 0.0
    return max(0.0, mi / ((ha + hb) / 2))
