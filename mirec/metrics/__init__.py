"""Evaluation metrics: full-ranking, multi-target (UMI), sampled (MGNM) and GAUC."""

from mirec import compat as _compat  # noqa: F401  (keeps the Keras 2 set-up first)
from mirec.metrics.ranking import (
    METRIC_NAMES,
    full_ranking_metrics,
    gauc,
    hits_matrix,
    mean_std,
    paired_t_test,
    sampled_ranking_metrics,
    to_row_splits,
    umi_metrics,
)

from mirec.metrics.clustering import normalized_mutual_info

__all__ = [
    "METRIC_NAMES",
    "full_ranking_metrics",
    "gauc",
    "hits_matrix",
    "mean_std",
    "normalized_mutual_info",
    "paired_t_test",
    "sampled_ranking_metrics",
    "to_row_splits",
    "umi_metrics",
]
