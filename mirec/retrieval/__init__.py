"""Multi-interest top-k retrieval (brute force, ScaNN) and SavedModel export."""

from mirec import compat as _compat  # noqa: F401  (must precede the TensorFlow import)
from mirec.retrieval.index import (
    BruteForceIndex,
    ScaNNIndex,
    export_retrieval_model,
    load_retrieval_model,
    merge_multi_interest,
    merge_multi_interest_tf,
    recall_vs_exact,
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
